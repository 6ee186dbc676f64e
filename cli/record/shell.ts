// Shell quoting for commands printed to be pasted (record --dry-run): plain words stay bare,
// anything else goes in single quotes, a quote inside as '\''.

const BARE = /^[A-Za-z0-9_./:=,+@%-]+$/;

export function shellQuote(arg: string): string {
  return BARE.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
