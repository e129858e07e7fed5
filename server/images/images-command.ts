// `labrun images [--labs DIR] [TAG...]`: makes sure the sandbox image, any TAG given, and every image
// the labs declare exist on the host engine (building them offline from images/ when needed). A name
// a recipe provides (nginx:latest) is built under that recipe's own tag (labrun/nginx:trixie).
import { commandArgs } from '../cli-args.ts';
import { LabError, loadCatalog } from '../labs/catalog.ts';
import { ImageError, SANDBOX_IMAGE, ensureImages } from './ensure-images.ts';

const USAGE = `usage: labrun images [--labs DIR] [TAG...]

Makes sure these images exist on the Docker engine, pulling or building them from images/:
  ${SANDBOX_IMAGE} (the learner's machine), every TAG given, and every image the labs in DIR
  (default: labs) declare. A name a recipe provides (nginx:latest) is built on the host under the
  recipe's own tag (labrun/nginx:trixie) and carries the name only inside sandboxes, so images of
  your own are never replaced. Offline, builds start from a Debian base made with debootstrap.`;

export async function imagesCommand(argv: string[]): Promise<number> {
  const args = commandArgs('images', USAGE, argv, { labs: { type: 'string' } }, true);
  if (typeof args === 'number') return args;

  let labImages: string[];
  try {
    const catalog = await loadCatalog(args.values.labs ?? 'labs');
    labImages = catalog.labs.flatMap((l) => l.images);
  } catch (err) {
    if (!(err instanceof LabError)) throw err;
    console.error(`labrun images: cannot read the labs' image lists:\n${err.message}`);
    return 1;
  }

  const tags = [SANDBOX_IMAGE, ...args.positionals, ...labImages];
  const t0 = Date.now();
  let hostImages: number;
  try {
    const mapped = await ensureImages(tags, { onProgress: (line) => console.log(`images: ${line}`) });
    hostImages = new Set(mapped.map((m) => m.hostImage)).size;
  } catch (err) {
    if (!(err instanceof ImageError)) throw err;
    console.error(`labrun images: ${err.message}\n  what to do: ${err.hint}`);
    return 1;
  }
  console.log(`images: ready (${hostImages} images) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return 0;
}
