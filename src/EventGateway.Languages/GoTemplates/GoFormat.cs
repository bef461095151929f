using System.Globalization;
using System.Text;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>
/// Renders values the way Go does, because Argo output is produced by Go: <c>encoding/json</c> numbers for
/// template results and <c>fmt</c>'s <c>%v</c> for string conversions inside sprig, expr and govaluate.
/// </summary>
internal static class GoFormat
{
    /// <summary>Float as encoding/json writes it: shortest round-trip, plain notation within [1e-6, 1e21).</summary>
    public static string JsonFloat(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            throw new ExprError($"json: unsupported value: {FloatV(value)}");
        }

        var abs = Math.Abs(value);
        if (abs != 0 && (abs < 1e-6 || abs >= 1e21))
        {
            // Go trims the exponent's leading zero for negative exponents: 1e-07 -> 1e-7.
            var e = Exponent(value);
            var n = e.Length;
            return n >= 4 && e[n - 4] == 'e' && e[n - 3] == '-' && e[n - 2] == '0' ? e.Remove(n - 2, 1) : e;
        }

        return Fixed(value);
    }

    /// <summary>Float as <c>%v</c> prints it (strconv 'g' with shortest precision).</summary>
    public static string FloatV(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        if (value == 0)
        {
            return "0";
        }

        var (_, point) = Decompose(Math.Abs(value));
        var exp = point - 1;
        return exp < -4 || exp >= 6 ? Exponent(value) : Fixed(value);
    }

    /// <summary>Go's <c>fmt.Sprint</c> / <c>%v</c> for the expression value model.</summary>
    public static string PrintV(object? value)
    {
        var sb = new StringBuilder();
        AppendV(sb, value);
        return sb.ToString();
    }

    private static void AppendV(StringBuilder sb, object? value)
    {
        value = Values.Normalize(value);
        switch (value)
        {
            case null: sb.Append("<nil>"); return;
            case string s: sb.Append(s); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(FloatV(d)); return;
        }

        if (Values.AsMap(value) is { } map)
        {
            sb.Append("map[");
            var first = true;
            foreach (var key in map.Keys.Order(StringComparer.Ordinal))
            {
                sb.Append(first ? string.Empty : " ").Append(key).Append(':');
                AppendV(sb, map[key]);
                first = false;
            }

            sb.Append(']');
            return;
        }

        if (Values.AsList(value) is { } list)
        {
            sb.Append('[');
            for (var i = 0; i < list.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(' ');
                }

                AppendV(sb, list[i]);
            }

            sb.Append(']');
            return;
        }

        sb.Append(value);
    }

    private static string Fixed(double value)
    {
        if (value == 0)
        {
            return "0";
        }

        var (digits, point) = Decompose(Math.Abs(value));
        string body;
        if (point <= 0)
        {
            body = "0." + new string('0', -point) + digits;
        }
        else if (point >= digits.Length)
        {
            body = digits + new string('0', point - digits.Length);
        }
        else
        {
            body = digits[..point] + "." + digits[point..];
        }

        return value < 0 ? "-" + body : body;
    }

    private static string Exponent(double value)
    {
        var (digits, point) = Decompose(Math.Abs(value));
        var exp = point - 1;
        var mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
        var sign = exp < 0 ? "-" : "+";
        var body = $"{mantissa}e{sign}{Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture)}";
        return value < 0 ? "-" + body : body;
    }

    /// <summary>Shortest round-trip decimal digits of a positive finite value, as 0.DIGITS x 10^point.</summary>
    private static (string Digits, int Point) Decompose(double abs)
    {
        var text = abs.ToString("R", CultureInfo.InvariantCulture);
        var exp = 0;
        var e = text.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            exp = int.Parse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var point = (dot < 0 ? text.Length : dot) + exp;
        var digits = dot < 0 ? text : text.Remove(dot, 1);
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..].TrimEnd('0');
        return digits.Length == 0 ? ("0", 1) : (digits, point - lead);
    }
}
