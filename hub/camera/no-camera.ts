import type { CameraEvent } from './camera.js';
import type { Frame } from './frame.js';
import type { LiveSource } from './live.js';
import type { CameraFeed } from './recorder.js';

/** The door camera as the rest of the daemon sees it: what the recorder, live view and the audit bridge use. */
export interface DoorCamera extends CameraFeed, LiveSource {
  onEvent(listener: (event: CameraEvent) => void): () => void;
}

/**
 * The camera of a hub that has none (no `camera.url`): a null object that fails secure. It is
 * never healthy, so no delivery or service visit is let in (no camera, no entry) and a recording
 * is refused; it has no pictures and tells nothing.
 */
export class NoCamera implements DoorCamera {
  readonly name = 'no-camera';

  start(): void {}

  stop(): void {}

  healthy(): boolean {
    return false;
  }

  preRoll(): Frame[] {
    return [];
  }

  latestGop(): Frame[] {
    return [];
  }

  onFrame(): () => void {
    return () => {};
  }

  onEvent(): () => void {
    return () => {};
  }
}
