// The labrun command line: dispatches to one module per command, loaded lazily so that
// `labrun validate` does not pay for starting the web server's dependencies.
const USAGE = `usage: labrun <command> [options]

commands:
  serve [--host H] [--port P] [--labs DIR] [--data DIR]   start the web app (default 127.0.0.1:3000)
  validate [LAB_DIR...]                                   check lab files; prints file:line:col: message
  test [LAB_DIR...]                                       self-test labs: checks fail before solve, pass after
  images [--labs DIR]                                     make sure every image the labs use exists locally
  export --class ID [--format csv|json] [--data DIR]      print a class's results (learner, step, done at, attempts, time)
  import killercoda|instruqt DIR [--out DIR]              write labrun labs from a Killercoda scenario or Instruqt track

Run 'labrun <command> --help' for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./http/serve-command.ts')).serveCommand,
  validate: async () => (await import('./labs/validate-command.ts')).validateCommand,
  test: async () => (await import('./checks/selftest-command.ts')).selftestCommand,
  images: async () => (await import('./images/images-command.ts')).imagesCommand,
  export: async () => (await import('./classroom/export-command.ts')).exportCommand,
  import: async () => (await import('./labs/import/import-command.ts')).importCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`labrun: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const run = await load();
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Commands report expected failures themselves; anything reaching here is a bug or an unexpected
    // environment problem, so say so plainly, with the message first.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`labrun: ${message}`);
    if (process.env.LABRUN_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  },
);
