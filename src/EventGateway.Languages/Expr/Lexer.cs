using System.Globalization;
using System.Text;

namespace EventGateway.Languages.Expr;

/// <summary>Tokenizer for the expr-lang dialect used by Argo <c>{{=...}}</c> tags.</summary>
internal static class Lexer
{
    private static readonly HashSet<string> WordOperators = new(StringComparer.Ordinal)
    {
        "and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith",
    };

    private static readonly string[] TwoCharOperators = ["==", "!=", "<=", ">=", "&&", "||", "**", "??", "?.", ".."];

    private const string SingleCharOperators = "+-*/%^!<>()[]{},:?.|";

    public static List<Token> Tokenize(string source)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            i = SkipTrivia(source, i);
            if (i >= source.Length)
            {
                tokens.Add(new Token(TokenKind.Eof, string.Empty, source.Length));
                return tokens;
            }

            var c = source[i];
            Token token;
            if (char.IsAsciiDigit(c) || (c == '.' && NextIsDigit(source, i) && !EndsValue(tokens)))
            {
                token = ReadNumber(source, i);
            }
            else if (char.IsLetter(c) || c == '_' || c == '$')
            {
                token = ReadWord(source, i);
            }
            else if (c == '#')
            {
                var end = ScanIdentifier(source, i + 1);
                token = new Token(TokenKind.Pointer, source[i..end], i);
            }
            else if (c is '"' or '\'')
            {
                token = ReadQuoted(source, i);
            }
            else if (c == '`')
            {
                var close = source.IndexOf('`', i + 1);
                if (close < 0)
                {
                    throw new ExprError("unterminated string literal", i);
                }

                token = new Token(TokenKind.String, source[i..(close + 1)], i, source[(i + 1)..close]);
            }
            else
            {
                token = ReadOperator(source, i);
            }

            tokens.Add(token);
            i = token.Position + token.Text.Length;
        }
    }

    private static int SkipTrivia(string s, int i)
    {
        while (i < s.Length)
        {
            if (char.IsWhiteSpace(s[i]))
            {
                i++;
            }
            else if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '/')
            {
                var newline = s.IndexOf('\n', i);
                i = newline < 0 ? s.Length : newline + 1;
            }
            else if (s[i] == '/' && i + 1 < s.Length && s[i + 1] == '*')
            {
                var close = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new ExprError("unterminated comment", i);
                }

                i = close + 2;
            }
            else
            {
                break;
            }
        }

        return i;
    }

    private static bool NextIsDigit(string s, int i) => i + 1 < s.Length && char.IsAsciiDigit(s[i + 1]);

    // ".5" is a number only where a value may start; after a value the dot is member access.
    private static bool EndsValue(List<Token> tokens)
    {
        if (tokens.Count == 0)
        {
            return false;
        }

        var last = tokens[^1];
        return last.Kind is TokenKind.Identifier or TokenKind.Int or TokenKind.Float or TokenKind.String or TokenKind.Pointer
            || last.IsOperator(")") || last.IsOperator("]") || last.IsOperator("}");
    }

    private static int ScanIdentifier(string s, int i)
    {
        while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] == '_' || s[i] == '$'))
        {
            i++;
        }

        return i;
    }

    private static Token ReadWord(string s, int start)
    {
        var end = ScanIdentifier(s, start);
        var word = s[start..end];
        return new Token(WordOperators.Contains(word) ? TokenKind.Operator : TokenKind.Identifier, word, start);
    }

    private static Token ReadNumber(string s, int start)
    {
        var i = start;
        if (s[i] == '0' && i + 1 < s.Length && "xXoObB".Contains(s[i + 1], StringComparison.Ordinal))
        {
            var radix = char.ToLowerInvariant(s[i + 1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            i += 2;
            while (i < s.Length && (char.IsAsciiHexDigit(s[i]) || s[i] == '_'))
            {
                i++;
            }

            var digits = s[(start + 2)..i].Replace("_", string.Empty, StringComparison.Ordinal);
            try
            {
                return new Token(TokenKind.Int, s[start..i], start, Convert.ToInt64(digits, radix));
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                throw new ExprError($"invalid number literal '{s[start..i]}'", start);
            }
        }

        var isFloat = false;
        i = SkipDigits(s, i);
        if (i < s.Length && s[i] == '.' && NextIsDigit(s, i))
        {
            isFloat = true;
            i = SkipDigits(s, i + 1);
        }

        if (i < s.Length && s[i] is 'e' or 'E')
        {
            var j = i + 1;
            if (j < s.Length && s[j] is '+' or '-')
            {
                j++;
            }

            if (j < s.Length && char.IsAsciiDigit(s[j]))
            {
                isFloat = true;
                i = SkipDigits(s, j);
            }
        }

        var text = s[start..i];
        var clean = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (isFloat)
        {
            return new Token(TokenKind.Float, text, start, double.Parse(clean, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return long.TryParse(clean, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? new Token(TokenKind.Int, text, start, value)
            : throw new ExprError($"integer literal '{text}' is out of range", start);
    }

    private static int SkipDigits(string s, int i)
    {
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_'))
        {
            i++;
        }

        return i;
    }

    private static Token ReadQuoted(string s, int start)
    {
        var quote = s[start];
        var sb = new StringBuilder();
        var i = start + 1;
        while (i < s.Length && s[i] != quote)
        {
            if (s[i] != '\\')
            {
                sb.Append(s[i++]);
                continue;
            }

            if (i + 1 >= s.Length)
            {
                break;
            }

            i = ReadEscape(s, i, sb);
        }

        if (i >= s.Length)
        {
            throw new ExprError("unterminated string literal", start);
        }

        return new Token(TokenKind.String, s[start..(i + 1)], start, sb.ToString());
    }

    /// <summary>Decodes the escape at <paramref name="i"/> (a backslash); returns the index after it.</summary>
    private static int ReadEscape(string s, int i, StringBuilder sb)
    {
        var c = s[i + 1];
        switch (c)
        {
            case 'n': sb.Append('\n'); return i + 2;
            case 't': sb.Append('\t'); return i + 2;
            case 'r': sb.Append('\r'); return i + 2;
            case 'a': sb.Append('\a'); return i + 2;
            case 'b': sb.Append('\b'); return i + 2;
            case 'f': sb.Append('\f'); return i + 2;
            case 'v': sb.Append('\v'); return i + 2;
            case 'x': return AppendCodePoint(s, i, 2, 16, sb);
            case 'u': return AppendCodePoint(s, i, 4, 16, sb);
            case 'U': return AppendCodePoint(s, i, 8, 16, sb);
            case >= '0' and <= '7': return AppendCodePoint(s, i - 1, 3, 8, sb);
            default: sb.Append(c); return i + 2;
        }
    }

    private static int AppendCodePoint(string s, int i, int digits, int radix, StringBuilder sb)
    {
        var start = i + 2;
        if (start + digits > s.Length)
        {
            throw new ExprError("invalid escape sequence", i);
        }

        try
        {
            var code = Convert.ToInt32(s.Substring(start, digits), radix);
            sb.Append(char.ConvertFromUtf32(code));
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ExprError("invalid escape sequence", i);
        }

        return start + digits;
    }

    private static Token ReadOperator(string s, int i)
    {
        if (i + 1 < s.Length)
        {
            var pair = s.Substring(i, 2);
            if (Array.IndexOf(TwoCharOperators, pair) >= 0)
            {
                return new Token(TokenKind.Operator, pair, i);
            }
        }

        return SingleCharOperators.Contains(s[i], StringComparison.Ordinal)
            ? new Token(TokenKind.Operator, s[i].ToString(), i)
            : throw new ExprError($"unexpected character '{s[i]}'", i);
    }
}
