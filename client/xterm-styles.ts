// xterm.js's DOM renderer styles itself with <style> elements it writes at run time (theme colours,
// glyph sizes). The page's CSP (style-src 'self', no 'unsafe-inline') blocks those, leaving dark text on
// a black screen. This mirrors each such element into a constructed stylesheet (CSSOM, which the CSP
// allows). Only <style> elements inside an `.xterm` element are mirrored, so a <style> smuggled into
// lesson HTML stays blocked.
export function mirrorXtermStyles(root: HTMLElement = document.body): () => void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const adopt = (el: HTMLStyleElement): void => {
    if (!el.closest('.xterm')) return;
    let sheet = sheets.get(el);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheets.set(el, sheet);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(el.textContent ?? '');
  };
  const drop = (el: HTMLStyleElement): void => {
    const sheet = sheets.get(el);
    if (!sheet) return;
    sheets.delete(el);
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
  const stylesIn = (node: Node): HTMLStyleElement[] =>
    node instanceof HTMLStyleElement ? [node] : node instanceof Element ? [...node.querySelectorAll('style')] : [];

  const observer = new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) stylesIn(n).forEach(adopt);
      for (const n of r.removedNodes) for (const el of stylesIn(n)) if (!el.isConnected) drop(el);
      const target = r.target instanceof HTMLStyleElement ? r.target : r.target.parentElement;
      if (target instanceof HTMLStyleElement && target.isConnected) adopt(target);
    }
  });
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  root.querySelectorAll('style').forEach(adopt);
  return () => {
    observer.disconnect();
    for (const el of [...sheets.keys()]) drop(el);
  };
}
