using System.Globalization;
using System.Text;

namespace EventGateway.Languages.GoTemplates;

/// <summary>The subset of Go's fmt.Sprintf templates use: %v %s %d %f %g %q %t %x %%, flags '-' '0' '+', width, precision.</summary>
internal static class GoPrintf
{
    public static string Format(string format, object?[] args)
    {
        var sb = new StringBuilder();
        var next = 0;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
            {
                sb.Append(format[i]);
                continue;
            }

            var (left, zero, plus) = (false, false, false);
            i++;
            for (; i < format.Length && format[i] is '-' or '0' or '+'; i++)
            {
                left |= format[i] == '-';
                zero |= format[i] == '0';
                plus |= format[i] == '+';
            }

            var width = ReadInt(format, ref i);
            int? precision = null;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = ReadInt(format, ref i) ?? 0;
            }

            if (i >= format.Length)
            {
                sb.Append("%!(NOVERB)");
                break;
            }

            var verb = format[i];
            if (verb == '%')
            {
                sb.Append('%');
                continue;
            }

            if (next >= args.Length)
            {
                sb.Append("%!").Append(verb).Append("(MISSING)");
                continue;
            }

            var text = Verb(verb, GoTemplateValues.Plain(args[next++]), precision, plus);
            var pad = (width ?? 0) - text.Length;
            sb.Append(pad <= 0 ? text : left ? text + new string(' ', pad) : zero && !left && verb != 's' ? Zero(text, pad) : new string(' ', pad) + text);
        }

        if (next < args.Length)
        {
            sb.Append("%!(EXTRA ").Append(string.Join(", ", args[next..].Select(a => $"{GoTemplateValues.GoType(GoTemplateValues.Plain(a))}={GoFormat.PrintV(GoTemplateValues.Plain(a))}"))).Append(')');
        }

        return sb.ToString();
    }

    private static string Zero(string text, int pad) =>
        text.StartsWith('-') ? "-" + new string('0', pad) + text[1..] : new string('0', pad) + text;

    private static int? ReadInt(string format, ref int i)
    {
        var start = i;
        while (i < format.Length && char.IsAsciiDigit(format[i]))
        {
            i++;
        }

        return i > start ? int.Parse(format.AsSpan(start, i - start), CultureInfo.InvariantCulture) : null;
    }

    private static string Verb(char verb, object? value, int? precision, bool plus)
    {
        var sign = plus ? "+" : string.Empty;
        switch (verb, value)
        {
            case ('v', _):
                return GoFormat.PrintV(value);
            case ('s', string s):
                return precision is { } p && p < s.Length ? s[..p] : s;
            case ('s', _) when value is not (long or double or bool or null):
                return GoFormat.PrintV(value);
            case ('q', string s):
                return SprigStrings.GoQuote(s);
            case ('t', bool b):
                return b ? "true" : "false";
            case ('d', long l):
                return (l >= 0 ? sign : string.Empty) + l.ToString(CultureInfo.InvariantCulture);
            case ('x', long l):
                return l.ToString("x", CultureInfo.InvariantCulture);
            case ('x', string s):
                return Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s));
            case ('f' or 'F', double d):
                return (d >= 0 ? sign : string.Empty) + d.ToString("F" + (precision ?? 6), CultureInfo.InvariantCulture);
            case ('g', double d):
                return GoFormat.FloatV(d);
            case (_, null):
                return $"%!{verb}(<nil>)";
            default:
                return $"%!{verb}({GoTemplateValues.GoType(value)}={GoFormat.PrintV(value)})";
        }
    }
}
