// One EventSource with resume: the browser re-sends Last-Event-ID itself after a dropped connection; when it
// gives up (the server answered an error, e.g. while restarting) we open a new one that carries the last
// id in the query, so no event is lost either way.

const TYPES = ["snapshot", "progress", "status", "deleted"];
const MAX_BACKOFF_MS = 15000;

export class LiveEvents {
  /**
   * @param {string} url  an SSE endpoint (/api/events or /api/jobs/{id}/events)
   * @param {(type: string, data: object) => void} onEvent
   */
  constructor(url, onEvent) {
    this.url = url;
    this.onEvent = onEvent;
    this.lastId = null;
    this.source = null;
    this.backoff = 1000;
    this.closed = false;
    window.addEventListener("pagehide", () => this.close());
    this.open();
  }

  open() {
    if (this.closed) return;
    let url = this.url;
    if (this.lastId) {
      url += (url.includes("?") ? "&" : "?") + "last_event_id=" + encodeURIComponent(this.lastId);
    }
    const source = new EventSource(url);
    this.source = source;
    for (const type of TYPES) {
      source.addEventListener(type, (event) => this.receive(type, event));
    }
    source.addEventListener("open", () => {
      this.backoff = 1000;
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && !this.closed) {
        setTimeout(() => this.open(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      }
    });
  }

  receive(type, event) {
    if (event.lastEventId) this.lastId = event.lastEventId;
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    // Observers (and tests) can follow the stream without a second connection.
    document.dispatchEvent(new CustomEvent("genjobs:event", { detail: { type, id: event.lastEventId, data } }));
    this.onEvent(type, data);
  }

  close() {
    this.closed = true;
    if (this.source) this.source.close();
  }
}
