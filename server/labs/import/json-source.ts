// A JSON text parsed with node offsets kept (jsonc-parser), so a syntax error or any path into the
// document maps back to `file:line:col`, as YamlSource does for YAML. Importers read index.json and
// structure.json through it, so a malformed file names its line and column instead of throwing.
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { LabIssue, YamlPath } from '../yaml-source.ts';

/** What jsonc-parser's error codes mean, in words a scenario author recognises. */
const SYNTAX_WORDS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the document',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in string',
};

export class JsonSource {
  readonly syntaxIssues: LabIssue[];
  readonly root: Node | undefined;
  private readonly lineStarts: number[];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.lineStarts = [0];
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
    const errors: ParseError[] = [];
    // Comments and trailing commas are errors: the platforms these files come from read strict JSON.
    this.root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    // The first error only: the parser's later ones follow from it (as JSON.parse stops at the first).
    this.syntaxIssues = errors.slice(0, 1).map((e) => {
      const code = printParseErrorCode(e.error);
      return { file, ...this.at(e.offset), message: `JSON: ${SYNTAX_WORDS[code] ?? code}` };
    });
  }

  toJS(): unknown {
    return this.root ? getNodeValue(this.root) : undefined;
  }

  /** 1-based line and column of a character offset. */
  at(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.lineStarts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - (this.lineStarts[lo] ?? 0) + 1 };
  }

  /** Position of the deepest existing node along `path` (a property's key when the path ends at one). */
  pos(path: YamlPath): { line: number; col: number } {
    if (!this.root) return { line: 1, col: 1 };
    for (let n = path.length; n > 0; n--) {
      const segs = path.slice(0, n).filter((s): s is string | number => typeof s !== 'symbol');
      const node = findNodeAtLocation(this.root, segs);
      if (node) {
        // A property's value node: point at its key, where an author looks for the field.
        const key = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
        return this.at(key?.offset ?? node.offset);
      }
    }
    return this.at(this.root.offset);
  }

  issue(path: YamlPath, message: string): LabIssue {
    return { file: this.file, ...this.pos(path), message };
  }
}
