using System.Globalization;
using System.Text;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Govaluate;

internal enum WhenTokenKind
{
    End,
    Number,
    String,
    Bool,

    /// <summary>A dotted bare word; govaluate reads it as a variable accessor, which Argo never supplies.</summary>
    Accessor,
    Operator,
}

internal readonly record struct WhenToken(WhenTokenKind Kind, string Text, int Position, object? Value = null);

/// <summary>
/// Tokenizer for govaluate, the language of Argo's <c>when</c> fields. Argo turns every bare word that
/// govaluate would treat as a variable into a string, which is what makes <c>heads == heads</c> work; this
/// lexer does the same directly.
/// </summary>
internal static class WhenLexer
{
    private static readonly string[] OperatorTexts =
        ["==", "!=", ">=", "<=", "=~", "!~", "&&", "||", "**", "??", ">", "<", "+", "-", "*", "/", "%", "!", "?", ":", "(", ")", ","];

    private static readonly string[] UnsupportedOperators = ["<<", ">>", "&", "|", "^", "~"];

    // govaluate turns quoted strings that look like dates into unix seconds; the ISO forms are kept here.
    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd HH:mm",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd HH:mm:sszzz",
        "yyyy-MM-ddTHH:mmK",
        "yyyy-MM-ddTHH:mm:ssK",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFFK",
    ];

    public static List<WhenToken> Tokenize(string text)
    {
        var tokens = new List<WhenToken>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                tokens.Add(new WhenToken(WhenTokenKind.End, string.Empty, text.Length));
                return tokens;
            }

            var c = text[i];
            var token = c switch
            {
                _ when char.IsDigit(c) => ReadNumber(text, i),
                _ when char.IsLetter(c) => ReadWord(text, i),
                '\'' or '"' => ReadString(text, i),
                '[' => ReadEscapedWord(text, i),
                _ => ReadOperator(text, i),
            };
            tokens.Add(token);
            i = token.Position + token.Text.Length;
        }
    }

    private static WhenToken ReadNumber(string s, int start)
    {
        var i = start;
        if (s[i] == '0' && i + 1 < s.Length && s[i + 1] is 'x' or 'X')
        {
            i += 2;
            while (i < s.Length && char.IsAsciiHexDigit(s[i]))
            {
                i++;
            }

            return long.TryParse(s.AsSpan(start + 2, i - start - 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex)
                ? new WhenToken(WhenTokenKind.Number, s[start..i], start, (double)hex)
                : throw new ExprError($"invalid hex number '{s[start..i]}'", start);
        }

        while (i < s.Length && (char.IsDigit(s[i]) || s[i] == '.'))
        {
            i++;
        }

        var text = s[start..i];
        return double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            ? new WhenToken(WhenTokenKind.Number, text, start, value)
            : throw new ExprError($"cannot parse '{text}' as a number", start);
    }

    private static WhenToken ReadWord(string s, int start)
    {
        var i = start;
        while (i < s.Length && (char.IsLetterOrDigit(s[i]) || s[i] is '_' or '.'))
        {
            i++;
        }

        var word = s[start..i];
        return word switch
        {
            "true" => new WhenToken(WhenTokenKind.Bool, word, start, true),
            "false" => new WhenToken(WhenTokenKind.Bool, word, start, false),
            "in" or "IN" => new WhenToken(WhenTokenKind.Operator, word, start, "in"),
            _ when word.EndsWith('.') => throw new ExprError($"hanging accessor on token '{word}'", start),
            _ when word.Contains('.', StringComparison.Ordinal) => new WhenToken(WhenTokenKind.Accessor, word, start, word),
            _ => new WhenToken(WhenTokenKind.String, word, start, word),
        };
    }

    private static WhenToken ReadEscapedWord(string s, int start)
    {
        var close = s.IndexOf(']', start + 1);
        return close < 0
            ? throw new ExprError("unclosed '['", start)
            : new WhenToken(WhenTokenKind.String, s[start..(close + 1)], start, s[(start + 1)..close]);
    }

    private static WhenToken ReadString(string s, int start)
    {
        var quote = s[start];
        var sb = new StringBuilder();
        var i = start + 1;
        while (i < s.Length && s[i] != quote)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
            }

            sb.Append(s[i++]);
        }

        if (i >= s.Length)
        {
            throw new ExprError("unclosed string literal", start);
        }

        var value = sb.ToString();
        var raw = s[start..(i + 1)];
        return DateTimeOffset.TryParseExact(value, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? new WhenToken(WhenTokenKind.Number, raw, start, (double)date.ToUnixTimeSeconds())
            : new WhenToken(WhenTokenKind.String, raw, start, value);
    }

    private static WhenToken ReadOperator(string s, int start)
    {
        foreach (var op in OperatorTexts)
        {
            if (string.CompareOrdinal(s, start, op, 0, op.Length) == 0)
            {
                return new WhenToken(WhenTokenKind.Operator, op, start, op);
            }
        }

        foreach (var op in UnsupportedOperators)
        {
            if (string.CompareOrdinal(s, start, op, 0, op.Length) == 0)
            {
                throw new ExprError($"operator '{op}' is not supported", start);
            }
        }

        throw new ExprError($"invalid token '{s[start]}' (hint: wrap values containing special characters in quotes)", start);
    }
}
