/**
 * The door camera as main.ts composes it, from the `camera` config section: the RTSP camera at
 * `camera.url` (streaming from start, so a visit's clip has its pre-roll), or NoCamera.
 */
import type { HubConfig } from '../config/schema.js';
import type { Clock } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { Camera } from './camera.js';
import { NoCamera, type DoorCamera } from './no-camera.js';

export function cameraRoom(config: HubConfig['camera'], deps: { clock: Clock; log: Logger }): { module: Module; service: DoorCamera } {
  if (config.url === undefined) {
    const none = new NoCamera();
    return { module: none, service: none };
  }
  const credentials = config.username !== undefined && config.password !== undefined ? { username: config.username, password: config.password } : undefined;
  const camera = new Camera({
    url: config.url,
    credentials,
    transport: config.transport,
    preRollS: config.preRollS,
    stallS: config.stallS,
    frozenKeyframes: config.frozenKeyframes,
    clock: deps.clock,
    log: deps.log,
  });
  return { module: camera, service: camera };
}
