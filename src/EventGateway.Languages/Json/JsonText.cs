using System.Globalization;
using System.Text;

namespace EventGateway.Languages.Json;

/// <summary>JSON text as jq and Go print it: shortest round-trip numbers, raw non-ASCII in strings.</summary>
internal static class JsonText
{
    /// <summary>
    /// Plain notation for 1e-6 &lt;= |x| &lt; 1e21 and exponent notation otherwise (<c>1e+21</c>, <c>1e-7</c>),
    /// as Go's encoding/json and jq print doubles. NaN prints as null; infinities as the largest finite double.
    /// </summary>
    public static string Number(double d)
    {
        if (double.IsNaN(d))
        {
            return "null";
        }

        if (double.IsInfinity(d))
        {
            d = d > 0 ? double.MaxValue : double.MinValue;
        }

        if (d == 0)
        {
            return double.IsNegative(d) ? "-0" : "0";
        }

        if (Math.Abs(d) < 1e15 && d == Math.Floor(d))
        {
            return ((long)d).ToString(CultureInfo.InvariantCulture);
        }

        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var negative = r[0] == '-';
        if (negative)
        {
            r = r[1..];
        }

        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var digits = dot >= 0 ? r.Remove(dot, 1) : r;
        var point = dot >= 0 ? dot : r.Length;
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
            point--;
        }

        digits = digits[lead..].TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        // value = 0.digits × 10^n
        var n = point + exponent;
        var sb = new StringBuilder(digits.Length + 8);
        if (negative)
        {
            sb.Append('-');
        }

        if (n is >= -5 and <= 21)
        {
            if (n <= 0)
            {
                sb.Append("0.").Append('0', -n).Append(digits);
            }
            else if (n >= digits.Length)
            {
                sb.Append(digits).Append('0', n - digits.Length);
            }
            else
            {
                sb.Append(digits, 0, n).Append('.').Append(digits, n, digits.Length - n);
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }

            sb.Append('e').Append(n - 1 < 0 ? '-' : '+').Append(Math.Abs(n - 1).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>
    /// Appends <paramref name="s"/> as a JSON string literal escaped as <paramref name="dialect"/> escapes it:
    /// jq's output and Go's encoding/json (expr's and sprig's toJson) differ, and templates must match byte for byte.
    /// </summary>
    public static void AppendString(StringBuilder sb, string s, JsonDialect dialect)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            if (ShortEscape(c, dialect) is { } escape)
            {
                sb.Append(escape);
            }
            else if (c < ' ' || (dialect == JsonDialect.Jq ? c == '\x7f' : IsHtmlSensitive(c)))
            {
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }

    private static string? ShortEscape(char c, JsonDialect dialect) => c switch
    {
        '"' => "\\\"",
        '\\' => "\\\\",
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\b' when dialect == JsonDialect.Jq => "\\b",
        '\f' when dialect == JsonDialect.Jq => "\\f",
        _ => null,
    };

    /// <summary>Go escapes these so JSON can be embedded in HTML and JavaScript safely.</summary>
    private static bool IsHtmlSensitive(char c) => c is '<' or '>' or '&' or '\u2028' or '\u2029';
}
