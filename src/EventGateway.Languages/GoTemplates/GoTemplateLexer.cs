using System.Globalization;
using System.Text;

namespace EventGateway.Languages.GoTemplates;

internal enum TokenKind
{
    Text,
    LeftDelim,
    RightDelim,
    Field,
    Variable,
    Identifier,
    Keyword,
    String,
    Number,
    Bool,
    Dot,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

/// <summary>One lexeme; <c>Spaced</c> says whitespace preceded it, which separates "(x).f" chains from arguments.</summary>
internal sealed record Token(TokenKind Kind, string Text, int Pos, bool Spaced, object? Value = null);

/// <summary>Splits template text into text runs and action tokens, applying the <c>{{-</c> / <c>-}}</c> trim markers.</summary>
internal sealed class GoTemplateLexer
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil",
    };

    private readonly string src;
    private readonly List<Token> tokens = [];
    private int pos;

    private GoTemplateLexer(string src)
    {
        this.src = src;
    }

    public static List<Token> Lex(string src)
    {
        var lexer = new GoTemplateLexer(src);
        lexer.Run();
        return lexer.tokens;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private void Run()
    {
        var trimLeading = false;
        while (pos <= src.Length)
        {
            var start = src.IndexOf("{{", pos, StringComparison.Ordinal);
            var textEnd = start < 0 ? src.Length : start;
            var text = src[pos..textEnd];
            var textPos = pos;
            if (trimLeading)
            {
                var trimmed = text.TrimStart(' ', '\t', '\r', '\n');
                textPos += text.Length - trimmed.Length;
                text = trimmed;
            }

            var trimTrailing = start >= 0 && start + 3 < src.Length && src[start + 2] == '-' && IsSpace(src[start + 3]);
            if (trimTrailing)
            {
                text = text.TrimEnd(' ', '\t', '\r', '\n');
            }

            if (text.Length > 0)
            {
                tokens.Add(new Token(TokenKind.Text, text, textPos, false));
            }

            if (start < 0)
            {
                break;
            }

            pos = start + (trimTrailing ? 4 : 2);
            trimLeading = LexAction(start);
        }

        tokens.Add(new Token(TokenKind.Eof, string.Empty, src.Length, false));
    }

    /// <summary>Lexes one action; returns whether it ended with a right trim marker.</summary>
    private bool LexAction(int delimPos)
    {
        if (src.AsSpan(pos).StartsWith("/*"))
        {
            var close = src.IndexOf("*/", pos + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new GoTemplateError("unclosed comment", delimPos);
            }

            pos = close + 2;
            if (src.AsSpan(pos).StartsWith("}}"))
            {
                pos += 2;
                return false;
            }

            if (pos + 4 <= src.Length && IsSpace(src[pos]) && src.AsSpan(pos + 1).StartsWith("-}}"))
            {
                pos += 4;
                return true;
            }

            throw new GoTemplateError("comment ends before closing delimiter", delimPos);
        }

        tokens.Add(new Token(TokenKind.LeftDelim, "{{", delimPos, false));
        var spaced = true;
        while (true)
        {
            if (pos >= src.Length)
            {
                throw new GoTemplateError("unclosed action", delimPos);
            }

            var c = src[pos];
            if (IsSpace(c))
            {
                if (src.AsSpan(pos + 1).StartsWith("-}}"))
                {
                    tokens.Add(new Token(TokenKind.RightDelim, "}}", pos, true));
                    pos += 4;
                    return true;
                }

                pos++;
                spaced = true;
                continue;
            }

            if (src.AsSpan(pos).StartsWith("}}"))
            {
                tokens.Add(new Token(TokenKind.RightDelim, "}}", pos, spaced));
                pos += 2;
                return false;
            }

            tokens.Add(Next(c, spaced));
            spaced = false;
        }
    }

    private Token Next(char c, bool spaced)
    {
        var start = pos;
        switch (c)
        {
            case '|': pos++; return new Token(TokenKind.Pipe, "|", start, spaced);
            case '(': pos++; return new Token(TokenKind.LeftParen, "(", start, spaced);
            case ')': pos++; return new Token(TokenKind.RightParen, ")", start, spaced);
            case ',': pos++; return new Token(TokenKind.Comma, ",", start, spaced);
            case '=': pos++; return new Token(TokenKind.Assign, "=", start, spaced);
            case ':' when pos + 1 < src.Length && src[pos + 1] == '=':
                pos += 2;
                return new Token(TokenKind.Declare, ":=", start, spaced);
            case '"': return QuotedString(spaced);
            case '`':
                var close = src.IndexOf('`', pos + 1);
                if (close < 0)
                {
                    throw new GoTemplateError("unterminated raw quoted string", start);
                }

                pos = close + 1;
                return new Token(TokenKind.String, src[start..pos], start, spaced, src[(start + 1)..close]);
            case '\'': return CharConstant(spaced);
            case '.' when pos + 1 < src.Length && IsIdentStart(src[pos + 1]):
                pos++;
                var field = Word();
                return new Token(TokenKind.Field, "." + field, start, spaced, field);
            case '.' when pos + 1 < src.Length && char.IsAsciiDigit(src[pos + 1]):
                return NumberToken(spaced);
            case '.':
                pos++;
                return new Token(TokenKind.Dot, ".", start, spaced);
            case '$':
                pos++;
                var name = "$" + Word();
                return new Token(TokenKind.Variable, name, start, spaced, name);
        }

        if (char.IsAsciiDigit(c) || (c is '-' or '+' && pos + 1 < src.Length && (char.IsAsciiDigit(src[pos + 1]) || src[pos + 1] == '.')))
        {
            return NumberToken(spaced);
        }

        if (IsIdentStart(c))
        {
            var word = Word();
            return word switch
            {
                "true" or "false" => new Token(TokenKind.Bool, word, start, spaced, word == "true"),
                _ when Keywords.Contains(word) => new Token(TokenKind.Keyword, word, start, spaced),
                _ => new Token(TokenKind.Identifier, word, start, spaced),
            };
        }

        throw new GoTemplateError($"unrecognized character in action: {DescribeChar(c)}", start);
    }

    private static string DescribeChar(char c) => "U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) + $" '{c}'";

    private static bool IsIdentStart(char c) => char.IsLetter(c) || c == '_';

    private string Word()
    {
        var start = pos;
        while (pos < src.Length && (char.IsLetterOrDigit(src[pos]) || src[pos] == '_'))
        {
            pos++;
        }

        return src[start..pos];
    }

    private Token NumberToken(bool spaced)
    {
        var start = pos;
        if (src[pos] is '-' or '+')
        {
            pos++;
        }

        while (pos < src.Length && (char.IsAsciiLetterOrDigit(src[pos]) || src[pos] is '.' or '_' ||
               (src[pos] is '-' or '+' && src[pos - 1] is 'e' or 'E')))
        {
            pos++;
        }

        var text = src[start..pos];
        return new Token(TokenKind.Number, text, start, spaced, ParseNumber(text, start));
    }

    /// <summary>Go number literals: integers stay Go int (long); anything with '.', or an exponent is float64.</summary>
    private static object ParseNumber(string text, int at)
    {
        var clean = text.Replace("_", string.Empty, StringComparison.Ordinal);
        var negative = clean.StartsWith('-');
        var body = clean.TrimStart('-', '+');
        if (body.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
            long.TryParse(body[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            return negative ? -hex : hex;
        }

        if (!body.Contains('.') && !body.Contains('e') && !body.Contains('E') &&
            long.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        if (double.TryParse(clean, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }

        throw new GoTemplateError($"bad number syntax: \"{text}\"", at);
    }

    private Token QuotedString(bool spaced)
    {
        var start = pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= src.Length || src[pos] == '\n')
            {
                throw new GoTemplateError("unterminated quoted string", start);
            }

            var c = src[pos++];
            if (c == '"')
            {
                return new Token(TokenKind.String, src[start..pos], start, spaced, sb.ToString());
            }

            sb.Append(c == '\\' ? Escape(start) : c.ToString());
        }
    }

    private Token CharConstant(bool spaced)
    {
        var start = pos++;
        var value = pos < src.Length && src[pos] == '\\' ? (pos++ > 0 ? Escape(start) : string.Empty) : src[pos++].ToString();
        if (pos >= src.Length || src[pos] != '\'' || value.Length == 0)
        {
            throw new GoTemplateError("unterminated character constant", start);
        }

        pos++;
        return new Token(TokenKind.Number, src[start..pos], start, spaced, (long)char.ConvertToUtf32(value, 0));
    }

    private string Escape(int start)
    {
        if (pos >= src.Length)
        {
            throw new GoTemplateError("unterminated quoted string", start);
        }

        var c = src[pos++];
        switch (c)
        {
            case 'n': return "\n";
            case 't': return "\t";
            case 'r': return "\r";
            case 'a': return "\a";
            case 'b': return "\b";
            case 'f': return "\f";
            case 'v': return "\v";
            case '\\' or '"' or '\'': return c.ToString();
            case 'x': return Hex(2, start);
            case 'u': return Hex(4, start);
            case 'U': return Hex(8, start);
            default: throw new GoTemplateError("unknown escape sequence", start);
        }
    }

    private string Hex(int digits, int start)
    {
        if (pos + digits > src.Length ||
            !int.TryParse(src.AsSpan(pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
        {
            throw new GoTemplateError("invalid escape sequence", start);
        }

        pos += digits;
        return digits == 2 ? ((char)code).ToString() : char.ConvertFromUtf32(code);
    }
}
