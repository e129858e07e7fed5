// A learner's terminal recordings as a list: each with Play (the board: asciinema-player in the page)
// and Download (`.cast`). The board shows another learner's (read-only view); a learner sees their own.
import { api, recordingUrl, type RecordingInfo } from '../api.ts';
import { h } from '../dom.ts';
import { mountCastPlayer, type CastPlayer } from './cast-player.ts';

function describe(r: RecordingInfo): string {
  return `${new Date(r.startedAt).toLocaleString()} · ${(r.bytes / 1024).toFixed(1)} kB`;
}

/** The board's Recordings view of one learner: list, Play, Download. Refreshes each time it is shown. */
export function mountRecordingsView(el: HTMLElement, labId: string, learnerId: string): { refresh(): void; dispose(): void } {
  const list = h('ul', { class: 'rec-list' });
  const stage = h('div', { class: 'rec-stage' });
  const note = h('p', { class: 'muted small' });
  el.replaceChildren(h('div', { class: 'rec-view' }, note, list, stage));
  let player: CastPlayer | undefined;
  const play = (r: RecordingInfo): void => {
    player?.dispose();
    stage.replaceChildren();
    const host = h('div', { class: 'rec-player', attrs: { 'data-playing': r.id } });
    stage.append(host);
    mountCastPlayer(host, recordingUrl(labId, r.id, learnerId, false)).then(
      (p) => (player = p),
      (err: unknown) => stage.replaceChildren(h('p', { class: 'error-text', text: `The player could not start: ${err instanceof Error ? err.message : String(err)}` })),
    );
  };
  const refresh = (): void => {
    api.recordings(labId, learnerId).then(
      (r) => {
        note.textContent = r.recordings.length ? `${r.recordings.length} recording${r.recordings.length === 1 ? '' : 's'}${r.recording ? ' · recording is on' : ''}` : r.recording ? 'Recording is on; nothing recorded yet (a file starts with the terminal\'s next output).' : 'No recordings. Turn recording on for the class to record terminals.';
        list.replaceChildren(
          ...r.recordings.map((x) =>
            h(
              'li',
              { attrs: { 'data-recording': x.id } },
              h('span', { text: describe(x) }),
              h('button', { class: 'button', text: 'Play', attrs: { type: 'button', 'data-action': 'play' }, on: { click: () => play(x) } }),
              h('a', { class: 'button', text: 'Download .cast', attrs: { href: recordingUrl(labId, x.id, learnerId, true), download: `${x.id}.cast` } }),
            ),
          ),
        );
      },
      (err: unknown) => (note.textContent = err instanceof Error ? err.message : String(err)),
    );
  };
  refresh();
  return {
    refresh,
    dispose: () => {
      player?.dispose();
      el.replaceChildren();
    },
  };
}

/**
 * The learner's own page: a badge while their terminal is recorded, with their recordings to download.
 * `update(on)` is called with the class's recording flag whenever it changes.
 */
export function recordingBadge(labId: string): { el: HTMLElement; update(on: boolean): void } {
  const label = h('summary', { class: 'rec-badge', attrs: { 'data-recording-on': '' }, text: '● Recording' });
  const list = h('ul', { class: 'rec-mine' });
  const box = h('details', { class: 'rec-box is-hidden-panel' }, label, h('p', { class: 'small', text: 'Your instructor records this class\'s terminals. Your recordings:' }), list);
  box.addEventListener('toggle', () => {
    if (!box.open) return;
    void api.recordings(labId).then((r) => {
      list.replaceChildren(...(r.recordings.length ? r.recordings.map((x) => h('li', {}, h('a', { text: describe(x), attrs: { href: recordingUrl(labId, x.id, undefined, true), download: `${x.id}.cast` } }))) : [h('li', { class: 'muted', text: 'none yet' })]));
    });
  });
  return { el: box, update: (on) => box.classList.toggle('is-hidden-panel', !on) };
}
