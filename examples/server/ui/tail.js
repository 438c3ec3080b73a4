// Live tail: records matching the query arrive over /api/tail and go to the
// top of the table. Paused, they wait in a buffer (counted on the button)
// and come in when resumed; the table keeps at most `cap` rows.

import { tail as follow } from './api.js';

export class LiveTail {
  /**
   * `onRecords(raws)` receives new records (oldest first), `onState(text)`
   * the status line, `onError(error)` a failure that ended the tail.
   */
  constructor({ onRecords, onState, onError }) {
    Object.assign(this, { onRecords, onState, onError });
    this.controller = null;
    this.paused = false;
    this.buffer = [];
  }

  get running() {
    return this.controller !== null;
  }

  /** Follows `q` (stops a previous tail). */
  start(q) {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    this.paused = false;
    this.buffer = [];
    this.onState('connecting…');
    follow(q, {
      onReady: () => this.onState('live'),
      onRecord: (raw) => this.receive(raw),
      onLagged: (e) => this.onState(`live (fell behind: ${e.missed_records} records skipped)`),
    }, controller.signal).then(() => {
      if (this.controller === controller) {
        this.controller = null;
        this.onState('stream ended');
      }
    }, (error) => {
      if (this.controller === controller) {
        this.controller = null;
        this.onError(error);
      }
    });
  }

  receive(raw) {
    if (this.paused) {
      this.buffer.push(raw);
      this.onState(`paused: ${this.buffer.length} new`);
    } else {
      this.onRecords([raw]);
    }
  }

  pause() {
    this.paused = true;
    this.onState(`paused: ${this.buffer.length} new`);
  }

  resume() {
    this.paused = false;
    const waiting = this.buffer;
    this.buffer = [];
    if (waiting.length) this.onRecords(waiting);
    this.onState('live');
  }

  stop() {
    this.controller?.abort();
    this.controller = null;
    this.buffer = [];
    this.paused = false;
  }
}
