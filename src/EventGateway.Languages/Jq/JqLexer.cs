using System.Globalization;
using System.Text;

namespace EventGateway.Languages.Jq;

internal enum TokenKind
{
    Eof,
    Ident,
    Field,
    Var,
    Number,
    String,
    Format,
    Punct,
}

/// <summary>
/// A jq token. A string literal carries its parts: literal text (string) and, for each <c>\( ... )</c>
/// interpolation, the tokens inside it (ending with an Eof token at the closing parenthesis).
/// </summary>
internal sealed record Token(TokenKind Kind, string Text, int Pos, double Number = 0, IReadOnlyList<object>? Parts = null)
{
    public bool Is(string punct) => Kind == TokenKind.Punct && Text == punct;

    public bool IsKeyword(string word) => Kind == TokenKind.Ident && Text == word;

    public string Describe() => Kind switch
    {
        TokenKind.Eof => "end of program",
        TokenKind.String => "string literal",
        TokenKind.Number => $"number {Text}",
        TokenKind.Field => $"'.{Text}'",
        TokenKind.Var => $"'${Text}'",
        TokenKind.Format => $"'@{Text}'",
        _ => $"'{Text}'",
    };
}

internal sealed class JqLexer
{
    // Longest first, so "//=" wins over "//" and "/".
    private static readonly string[] Punctuation =
    [
        "?//", "//=", "|=", "+=", "-=", "*=", "/=", "%=", "==", "!=", "<=", ">=", "//", "..",
        ".", "[", "]", "{", "}", "(", ")", "|", ",", ":", ";", "=", "<", ">", "+", "-", "*", "/", "%", "?",
    ];

    private readonly string src;
    private int pos;

    private JqLexer(string src)
    {
        this.src = src;
    }

    public static List<Token> Tokenize(string src) => new JqLexer(src).Lex(insideInterpolation: false);

    private static bool IsIdentStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';

    private static bool IsIdentPart(char c) => IsIdentStart(c) || char.IsAsciiDigit(c);

    private List<Token> Lex(bool insideInterpolation)
    {
        var tokens = new List<Token>();
        var depth = 0;
        while (true)
        {
            SkipSpaceAndComments();
            if (pos >= src.Length)
            {
                if (insideInterpolation)
                {
                    throw JqParser.Error(pos, "unterminated string interpolation \\(...)");
                }

                tokens.Add(new Token(TokenKind.Eof, string.Empty, pos));
                return tokens;
            }

            var c = src[pos];
            var start = pos;
            if (insideInterpolation && c == ')' && depth == 0)
            {
                tokens.Add(new Token(TokenKind.Eof, string.Empty, pos));
                pos++;
                return tokens;
            }

            if (c == '"')
            {
                tokens.Add(LexString());
            }
            else if (c == '.' && pos + 1 < src.Length && IsIdentStart(src[pos + 1]))
            {
                pos++;
                tokens.Add(new Token(TokenKind.Field, ReadIdent(), start));
            }
            else if (char.IsAsciiDigit(c) || c == '.' && pos + 1 < src.Length && char.IsAsciiDigit(src[pos + 1]))
            {
                tokens.Add(LexNumber());
            }
            else if (c is '$' or '@')
            {
                pos++;
                if (pos >= src.Length || !IsIdentStart(src[pos]))
                {
                    throw JqParser.Error(start, c == '$' ? "expected a variable name after '$'" : "expected a format name after '@'");
                }

                tokens.Add(new Token(c == '$' ? TokenKind.Var : TokenKind.Format, ReadIdent(), start));
            }
            else if (IsIdentStart(c))
            {
                tokens.Add(new Token(TokenKind.Ident, ReadIdent(), start));
            }
            else
            {
                var punct = Punctuation.FirstOrDefault(p => string.CompareOrdinal(src, pos, p, 0, p.Length) == 0)
                    ?? throw JqParser.Error(pos, $"unexpected character '{c}'");
                if (insideInterpolation)
                {
                    depth += punct == "(" ? 1 : punct == ")" ? -1 : 0;
                }

                pos += punct.Length;
                tokens.Add(new Token(TokenKind.Punct, punct, start));
            }
        }
    }

    private void SkipSpaceAndComments()
    {
        while (pos < src.Length)
        {
            if (char.IsWhiteSpace(src[pos]))
            {
                pos++;
            }
            else if (src[pos] == '#')
            {
                while (pos < src.Length && src[pos] != '\n')
                {
                    pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private string ReadIdent()
    {
        var start = pos;
        while (pos < src.Length && IsIdentPart(src[pos]))
        {
            pos++;
        }

        // Namespaced builtins (e.g. "jq::foo") are not supported; reading "a::b" as one name gives a clear error later.
        return src[start..pos];
    }

    private Token LexNumber()
    {
        var start = pos;
        while (pos < src.Length && char.IsAsciiDigit(src[pos]))
        {
            pos++;
        }

        if (pos < src.Length && src[pos] == '.')
        {
            pos++;
            while (pos < src.Length && char.IsAsciiDigit(src[pos]))
            {
                pos++;
            }
        }

        if (pos < src.Length && src[pos] is 'e' or 'E')
        {
            var save = pos;
            pos++;
            if (pos < src.Length && src[pos] is '+' or '-')
            {
                pos++;
            }

            if (pos < src.Length && char.IsAsciiDigit(src[pos]))
            {
                while (pos < src.Length && char.IsAsciiDigit(src[pos]))
                {
                    pos++;
                }
            }
            else
            {
                pos = save;
            }
        }

        var text = src[start..pos];
        return new Token(TokenKind.Number, text, start, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    private Token LexString()
    {
        var start = pos;
        pos++;
        var parts = new List<object>();
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length)
            {
                throw JqParser.Error(start, "unterminated string literal");
            }

            var c = src[pos++];
            if (c == '"')
            {
                break;
            }

            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (pos >= src.Length)
            {
                throw JqParser.Error(start, "unterminated string literal");
            }

            var escape = src[pos++];
            switch (escape)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    if (pos + 4 > src.Length || !int.TryParse(src.AsSpan(pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw JqParser.Error(pos - 2, "invalid \\u escape: expected 4 hex digits");
                    }

                    pos += 4;
                    sb.Append((char)code);
                    break;
                case '(':
                    if (sb.Length > 0)
                    {
                        parts.Add(sb.ToString());
                        sb.Clear();
                    }

                    parts.Add(Lex(insideInterpolation: true));
                    break;
                default:
                    throw JqParser.Error(pos - 2, $"invalid escape '\\{escape}' in string literal");
            }
        }

        if (sb.Length > 0 || parts.Count == 0)
        {
            parts.Add(sb.ToString());
        }

        return new Token(TokenKind.String, src[start..pos], start, Parts: parts);
    }
}
