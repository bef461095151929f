using System.Text;

namespace EventGateway.Languages.Jq;

/// <summary>jq's <c>@format</c> strings: <c>@text @json @html @uri @csv @tsv @sh @base64 @base64d</c>.</summary>
internal static class JqFormats
{
    private static readonly HashSet<string> Known = ["text", "json", "html", "uri", "csv", "tsv", "sh", "base64", "base64d"];

    public static void Check(string name, int pos)
    {
        if (!Known.Contains(name))
        {
            throw JqParser.Error(pos, $"@{name} is not a valid format (known: {string.Join(", ", Known.Select(k => "@" + k))})");
        }
    }

    public static string Apply(string name, object? v) => name switch
    {
        "text" => JqValues.ToText(v),
        "json" => JqValues.ToJson(v),
        "html" => Html(JqValues.ToText(v)),
        "uri" => Uri(JqValues.ToText(v)),
        "csv" => Row(v, "csv", ",", CsvField),
        "tsv" => Row(v, "tsv", "\t", TsvField),
        "sh" => v is object?[] a ? string.Join(' ', a.Select(ShWord)) : ShWord(v),
        "base64" => Convert.ToBase64String(Encoding.UTF8.GetBytes(JqValues.ToText(v))),
        "base64d" => Base64Decode(JqValues.ToText(v)),
        _ => throw new JqError($"{name} is not a valid format"),
    };

    private static string Html(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '<' => "&lt;",
                '>' => "&gt;",
                '&' => "&amp;",
                '\'' => "&#39;",
                '"' => "&quot;",
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    private static string Uri(string s)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static string Row(object? v, string name, string separator, Func<object?, string> field)
    {
        if (v is not object?[] a)
        {
            throw new JqError($"{JqValues.Describe(v)} cannot be {name}-formatted, only an array can be");
        }

        return string.Join(separator, a.Select(x => x is object?[] or JqObject
            ? throw new JqError($"{JqValues.Describe(x)} is not valid in a {name} row")
            : field(x)));
    }

    private static string CsvField(object? x) => x switch
    {
        null => string.Empty,
        string s => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"",
        _ => JqValues.ToJson(x),
    };

    private static string TsvField(object? x) => x switch
    {
        null => string.Empty,
        string s => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal),
        _ => JqValues.ToJson(x),
    };

    private static string ShWord(object? x) => x switch
    {
        string s => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'",
        object?[] or JqObject => throw new JqError($"{JqValues.Describe(x)} can not be escaped for shell"),
        _ => JqValues.ToJson(x),
    };

    private static string Base64Decode(string s)
    {
        var trimmed = s.TrimEnd('=');
        var padded = trimmed + new string('=', (4 - trimmed.Length % 4) % 4);
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
        }
        catch (FormatException)
        {
            throw new JqError($"{JqValues.Describe(s)} is not valid base64 data");
        }
    }
}
