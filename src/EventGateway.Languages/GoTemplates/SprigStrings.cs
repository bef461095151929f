using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>String helpers behind the sprig functions, reproducing the Go behaviour sprig inherits.</summary>
internal static class SprigStrings
{
    /// <summary>sprig's substr: a negative start means 0, a negative or too large end means the string's end.</summary>
    public static string Substr(long start, long end, string s)
    {
        if (start < 0)
        {
            return s[..(int)Math.Clamp(end, 0, s.Length)];
        }

        if (start > s.Length)
        {
            throw new ExprError($"sprig.substr: start {start} is beyond the string length {s.Length}");
        }

        if (end < 0 || end > s.Length)
        {
            return s[(int)start..];
        }

        return start <= end ? s[(int)start..(int)end] : throw new ExprError($"sprig.substr: start {start} is after end {end}");
    }

    /// <summary>sprig's trunc: keep the first <paramref name="count"/> chars, or the last ones when negative.</summary>
    public static string Trunc(long count, string s)
    {
        if (count < 0 && s.Length + count > 0)
        {
            return s[(int)(s.Length + count)..];
        }

        return count >= 0 && s.Length > count ? s[..(int)count] : s;
    }

    /// <summary>Pads every line, so multi-line values can be embedded in YAML.</summary>
    public static string Indent(long spaces, string text)
    {
        var pad = new string(' ', (int)Math.Clamp(spaces, 0, 10_000));
        return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    /// <summary>Go's strings.Title: upper-case every letter that follows a separator.</summary>
    public static string Title(string s)
    {
        var chars = s.ToCharArray();
        var previous = ' ';
        for (var i = 0; i < chars.Length; i++)
        {
            if (IsWordSeparator(previous))
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }

            previous = s[i];
        }

        return new string(chars);
    }

    private static bool IsWordSeparator(char c) =>
        c <= 0x7F ? !(char.IsAsciiLetterOrDigit(c) || c == '_') : !char.IsLetterOrDigit(c);

    /// <summary>Lower-cases the first letter of each whitespace-delimited word.</summary>
    public static string Untitle(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (i == 0 || char.IsWhiteSpace(chars[i - 1]))
            {
                chars[i] = char.ToLowerInvariant(chars[i]);
            }
        }

        return new string(chars);
    }

    /// <summary>Go's %q: a double-quoted string with Go escape sequences.</summary>
    public static string GoQuote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\a' => "\\a",
                '\b' => "\\b",
                '\f' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\v' => "\\v",
                < ' ' or '\x7f' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }

    public static string Base64Decode(string s)
    {
        var buffer = new byte[s.Length];
        if (Convert.TryFromBase64String(s, buffer, out var written))
        {
            return Encoding.UTF8.GetString(buffer, 0, written);
        }

        // sprig returns the decode error text instead of failing.
        var bad = s.TakeWhile(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/').Count();
        return $"illegal base64 data at input byte {bad}";
    }

    /// <summary>
    /// Replace using Go's template syntax ($1, ${1}, $name, $$); unknown groups expand to "". Group numbers
    /// follow .NET, which matches Go unless named and unnamed groups are mixed (.NET numbers named ones last).
    /// </summary>
    public static string RegexReplaceAll(string pattern, string s, string replacement) =>
        RegexCache.Get(pattern).Replace(s, m => ExpandGoTemplate(m, replacement));

    private static string ExpandGoTemplate(Match match, string template)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] != '$' || i + 1 >= template.Length)
            {
                sb.Append(template[i]);
                continue;
            }

            if (template[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            string name;
            var braced = template[i + 1] == '{';
            var start = braced ? i + 2 : i + 1;
            var end = start;
            while (end < template.Length && (char.IsAsciiLetterOrDigit(template[end]) || template[end] == '_'))
            {
                end++;
            }

            if (end == start || (braced && (end >= template.Length || template[end] != '}')))
            {
                sb.Append(template[i]);
                continue;
            }

            name = template[start..end];

            // .NET resolves numeric names only for unnamed groups, so look numbers up by index.
            var group = int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? match.Groups[number]
                : match.Groups[name];
            sb.Append(group.Success ? group.Value : string.Empty);
            i = braced ? end : end - 1;
        }

        return sb.ToString();
    }
}
