// parse-prometheus-text-format ships no types; its result enters as unknown and is parsed with zod.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
