/**
 * The BLE lock's GATT layout (a custom 128-bit service; UUIDs in noble's form: lowercase hex, no
 * dashes). The hub writes command chunks (Write Request, so the link layer acknowledges each one)
 * and receives reply chunks as notifications after enabling them (CCCD, Core Spec Vol 3 Part G 3.3.3.3).
 */
export const LOCK_SERVICE_UUID = '6b6579687562424c4500000000000001';
/** Hub → lock: fragments of frames (write with response). */
export const LOCK_COMMAND_CHAR_UUID = '6b6579687562424c4500000000000002';
/** Lock → hub: fragments of frames (notify). */
export const LOCK_REPLY_CHAR_UUID = '6b6579687562424c4500000000000003';
/** Advertised local name prefix of the simulated lock (for logs; the hub filters by service and address). */
export const LOCK_LOCAL_NAME = 'keyhub-lock';
