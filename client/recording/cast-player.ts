// Plays a terminal recording (asciicast v2) in the page with asciinema-player, loaded on first use.
// Its markers (the lab steps the learner was on) show on the timeline. The file comes from the
// recordings route, so the same auth rules apply as for downloading it.
export interface CastPlayer {
  dispose(): void;
}

export async function mountCastPlayer(el: HTMLElement, url: string): Promise<CastPlayer> {
  const { create } = await import('asciinema-player');
  const player = create({ url }, el, { fit: 'width', controls: true, autoPlay: true, idleTimeLimit: 2, terminalFontSize: '13px' });
  return { dispose: () => player.dispose() };
}
