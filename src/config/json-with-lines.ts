/**
 * JSON.parse that also knows on which line each value sits, so a configuration error can say
 * "line 4" rather than leave the operator to search. A small recursive-descent reader: strings
 * are decoded by JSON.parse itself, so escapes follow the standard exactly. Unlike JSON.parse it
 * refuses duplicate keys (the later one would silently win: a classic copy-paste mistake).
 */

export type JsonPath = readonly (string | number)[];

export interface LocatedJson {
  readonly value: unknown;
  /** Line (1-based) of the value at `path` (of its key, for an object member); else of the nearest ancestor. */
  lineOf(path: JsonPath): number;
}

export class JsonSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    problem: string,
  ) {
    super(problem);
    this.name = 'JsonSyntaxError';
  }
}

const maxDepth = 64;
const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function parseJsonWithLines(input: string): LocatedJson {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const lineStarts = findLineStarts(text);
  const lines = new Map<string, number>();
  let pos = 0;

  const lineAt = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
  const fail = (problem: string, offset = pos): never => {
    const line = lineAt(offset);
    throw new JsonSyntaxError(line, offset - lineStarts[line - 1] + 1, problem);
  };
  const skipSpace = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const describeHere = (): string =>
    pos >= text.length ? 'unexpected end of file' : `unexpected ${JSON.stringify(text[pos])}`;

  const readString = (): string => {
    const start = pos;
    pos++;
    while (pos < text.length && text[pos] !== '"') {
      if (text.charCodeAt(pos) < 0x20) fail('line break or control character inside a string');
      pos += text[pos] === '\\' ? 2 : 1;
    }
    if (pos >= text.length) fail('unterminated string', start);
    pos++;
    try {
      return JSON.parse(text.slice(start, pos)) as string;
    } catch {
      return fail('invalid escape in a string', start);
    }
  };

  const readValue = (path: JsonPath, depth: number): unknown => {
    skipSpace();
    if (depth > maxDepth) fail('nested too deeply');
    if (!lines.has(key(path))) lines.set(key(path), lineAt(pos));
    const char = text[pos];
    if (char === '{') return readObject(path, depth);
    if (char === '[') return readArray(path, depth);
    if (char === '"') return readString();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    numberPattern.lastIndex = pos;
    const number = numberPattern.exec(text);
    if (number) {
      pos += number[0].length;
      return Number(number[0]);
    }
    return fail(`${describeHere()} where a value should be`);
  };

  const readObject = (path: JsonPath, depth: number): Record<string, unknown> => {
    const object: Record<string, unknown> = {};
    pos++;
    skipSpace();
    if (text[pos] === '}') {
      pos++;
      return object;
    }
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') fail(`${describeHere()} where a "quoted" key should be`);
      const keyStart = pos;
      const name = readString();
      if (Object.hasOwn(object, name)) fail(`duplicate key ${JSON.stringify(name)}`, keyStart);
      lines.set(key([...path, name]), lineAt(keyStart));
      skipSpace();
      if (text[pos] !== ':') fail(`${describeHere()} where ':' should follow the key`);
      pos++;
      // defineProperty, not assignment: a key named "__proto__" must stay a plain key.
      Object.defineProperty(object, name, {
        value: readValue([...path, name], depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return object;
      }
      if (text[pos] !== ',') fail(`${describeHere()} where ',' or '}' should be`);
      pos++;
    }
  };

  const readArray = (path: JsonPath, depth: number): unknown[] => {
    const array: unknown[] = [];
    pos++;
    skipSpace();
    if (text[pos] === ']') {
      pos++;
      return array;
    }
    for (;;) {
      array.push(readValue([...path, array.length], depth + 1));
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return array;
      }
      if (text[pos] !== ',') fail(`${describeHere()} where ',' or ']' should be`);
      pos++;
    }
  };

  const value = readValue([], 0);
  skipSpace();
  if (pos < text.length) fail(`${describeHere()} after the end of the JSON value`);

  return {
    value,
    lineOf(path) {
      for (let length = path.length; length > 0; length--) {
        const line = lines.get(key(path.slice(0, length)));
        if (line !== undefined) return line;
      }
      return lines.get(key([])) ?? 1;
    },
  };
}

function key(path: JsonPath): string {
  return JSON.stringify(path);
}

function findLineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}
