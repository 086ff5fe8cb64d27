/**
 * A simulated Z-Wave USB stick reachable as `tcp://127.0.0.1:PORT`: zwave-js's own MockController
 * (@zwave-js/testing) behind a TCP socket that carries the real Z-Wave Serial API byte stream, as a
 * ser2net bridge to a real stick would. The hub opens it through the same `port` string it would use
 * for `/dev/ttyUSB0`, so nothing in hub/ knows it is talking to a simulator.
 *
 * This follows zwave-js's `MockServer` (zwave-js/Testing), minus its mDNS advertisement: tests must
 * talk to 127.0.0.1 only. `unplug()` / `plugIn()` play the stick going away and coming back (the TCP
 * connection drops and the port refuses connections, as a vanished /dev/ttyUSB0 would).
 */
import { createServer, type Server, type Socket } from 'node:net';
import {
  Faucet,
  RemoveNodeFromNetworkRequest,
  RemoveNodeFromNetworkRequestStatusReport,
  RemoveNodeStatus,
  RemoveNodeType,
  SerialAPIParser,
  ZWaveSerialFrameType,
  type ZWaveSerialFrame,
  type ZWaveSerialStream,
} from '@zwave-js/serial';
import { createAndOpenMockedZWaveSerialPort, type MockPort } from '@zwave-js/serial/mock';
import { MockController, type MockControllerBehavior } from '@zwave-js/testing';
import { createDefaultMockControllerBehaviors } from 'zwave-js/Testing';

export interface S2Keys {
  S2_AccessControl?: Uint8Array<ArrayBuffer>;
  S2_Authenticated?: Uint8Array<ArrayBuffer>;
  S2_Unauthenticated?: Uint8Array<ArrayBuffer>;
  S0_Legacy?: Uint8Array<ArrayBuffer>;
}

export interface MockStickOptions {
  /** The network keys the hub will use: the mock controller needs them to read secure frames. */
  securityKeys?: S2Keys;
  homeId?: number;
  /** Fixed TCP port (to come back on the same address after `unplug`); 0 picks a free one. */
  port?: number;
}

export class MockStick {
  readonly controller: MockController;
  readonly #serial: ZWaveSerialStream;
  readonly #mockPort: MockPort;
  readonly #faucet: Faucet<ZWaveSerialFrame>;
  #server: Server | undefined;
  #socket: Socket | undefined;
  #port: number;
  /** The node that will leave at the next exclusion the hub starts (the installer pressed its button). */
  nodePendingExclusion: number | undefined;

  private constructor(controller: MockController, serial: ZWaveSerialStream, mockPort: MockPort, port: number) {
    this.controller = controller;
    this.#serial = serial;
    this.#mockPort = mockPort;
    this.#faucet = new Faucet(serial.readable);
    this.#port = port;
    // A stick whose host does not ACK a frame (killed mid-exchange, a power cut, a host too busy
    // to answer in time) retransmits and then drops it, as a real one does (Z-Wave Host API: a
    // frame is retried 3 times, then discarded). The mock controller would instead reject its
    // unawaited wait for the ACK with no one listening, an uncaught error in whatever test runs.
    const expectAck = controller.expectHostACK.bind(controller);
    controller.expectHostACK = async (timeout, errorMessage) => {
      if (!this.connected) return;
      try {
        await expectAck(timeout, errorMessage);
      } catch {
        // Dropped, as above: the hub sees a missing report and handles it as it would on a real stick.
      }
    };
  }

  static async start(options: MockStickOptions = {}): Promise<MockStick> {
    const { serial, port: mockPort } = await createAndOpenMockedZWaveSerialPort();
    const controller = await MockController.create({
      homeId: options.homeId ?? 0x7e570001,
      ownNodeId: 1,
      mockPort,
      serial,
      securityKeys: options.securityKeys,
    });
    controller.defineBehavior(...createDefaultMockControllerBehaviors());
    const stick = new MockStick(controller, serial, mockPort, options.port ?? 0);
    controller.defineBehavior(stick.#exclusionBehavior());
    await stick.plugIn();
    return stick;
  }

  /** The address to configure as the hub's Z-Wave serial port. */
  get path(): string {
    return `tcp://127.0.0.1:${this.#port}`;
  }

  get pluggedIn(): boolean {
    return this.#server !== undefined;
  }

  /** Whether a host has the port open right now. */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** Starts accepting the hub's connection (again, on the same port after `unplug`). */
  async plugIn(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = createServer((socket) => this.#accept(socket));
    // One host per stick, like a serial port.
    server.maxConnections = 1;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.#port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') this.#port = address.port;
    this.#server = server;
  }

  /** The stick vanishes: the open connection drops and new ones are refused. */
  async unplug(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#socket?.destroy();
    this.#socket = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Only the connection drops (a serial read error); the stick stays there to be reopened. */
  dropConnection(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  async stop(): Promise<void> {
    await this.unplug();
    this.#faucet.close();
    this.controller.destroy();
    await this.#serial.close().catch(() => {});
    this.#mockPort.destroy();
  }

  /**
   * zwave-js's default mock controller enters "removing node" and never lets a node leave; this
   * plays the Serial API callback sequence a real stick sends when a node in exclusion mode answers
   * (Ready, NodeFound, RemovingSlave with the node id, Done).
   */
  #exclusionBehavior(): MockControllerBehavior {
    return {
      onHostMessage: async (controller, msg) => {
        if (!(msg instanceof RemoveNodeFromNetworkRequest)) return false;
        const callbackId = msg.callbackId ?? 0;
        const report = (status: RemoveNodeStatus, nodeId?: number): RemoveNodeFromNetworkRequestStatusReport =>
          new RemoveNodeFromNetworkRequestStatusReport(
            nodeId === undefined
              ? { callbackId, status: status as RemoveNodeStatus.Ready }
              : { callbackId, status: RemoveNodeStatus.RemovingSlave, nodeId },
          );
        if (msg.removeNodeType === RemoveNodeType.Stop) {
          if (callbackId !== 0) await controller.sendMessageToHost(report(RemoveNodeStatus.Done));
          return true;
        }
        const nodeId = this.nodePendingExclusion;
        const node = nodeId === undefined ? undefined : controller.nodes.get(nodeId);
        if (nodeId === undefined || node === undefined) return false;
        this.nodePendingExclusion = undefined;
        await controller.sendMessageToHost(report(RemoveNodeStatus.Ready));
        void (async () => {
          await controller.sendMessageToHost(report(RemoveNodeStatus.NodeFound));
          await controller.sendMessageToHost(report(RemoveNodeStatus.RemovingSlave, nodeId));
          controller.removeNode(node);
          await controller.sendMessageToHost(report(RemoveNodeStatus.Done));
        })();
        return true;
      },
    };
  }

  #accept(socket: Socket): void {
    this.#socket?.destroy();
    this.#socket = socket;
    socket.setNoDelay(true);
    const writable = new WritableStream<ZWaveSerialFrame>({
      write: (frame) => {
        if (frame.type !== ZWaveSerialFrameType.SerialAPI || socket.destroyed) return;
        socket.write(typeof frame.data === 'number' ? Uint8Array.from([frame.data]) : frame.data);
      },
    });
    this.#faucet.connect(writable);
    // TCP does not keep write boundaries; the mock controller wants one Serial API frame per
    // write, so the host's byte stream is re-framed first (as zwave-js's DriverMock does).
    const parser = new SerialAPIParser();
    const parserWriter = parser.writable.getWriter();
    void parser.readable
      .pipeTo(
        new WritableStream<ZWaveSerialFrame>({
          write: (frame) => {
            if (frame.type !== ZWaveSerialFrameType.SerialAPI) return;
            const data = typeof frame.data === 'number' ? Uint8Array.from([frame.data]) : frame.data;
            this.#serial.writeAsync(data).catch(() => {});
          },
        }),
      )
      .catch(() => {});
    socket.on('data', (chunk: Buffer) => {
      parserWriter.write(new Uint8Array(chunk)).catch(() => {});
    });
    socket.on('close', () => void parserWriter.abort().catch(() => {}));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.#socket === socket) {
        this.#faucet.disconnect();
        this.#socket = undefined;
      }
    });
  }
}
