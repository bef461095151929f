using System.Globalization;
using System.Text;

namespace EventGateway.Languages.Jq;

internal static partial class JqBuiltins
{
    private const string IsoFormat = "%Y-%m-%dT%H:%M:%SZ";

    private static void AddMath(Dictionary<string, JqBuiltin> t)
    {
        var unary = new Dictionary<string, Func<double, double>>
        {
            ["floor"] = Math.Floor, ["ceil"] = Math.Ceiling, ["round"] = x => Math.Round(x, MidpointRounding.AwayFromZero),
            ["sqrt"] = Math.Sqrt, ["fabs"] = Math.Abs, ["trunc"] = Math.Truncate, ["log"] = Math.Log, ["log10"] = Math.Log10,
            ["log2"] = Math.Log2, ["exp"] = Math.Exp, ["exp2"] = x => Math.Pow(2, x), ["exp10"] = x => Math.Pow(10, x),
            ["sin"] = Math.Sin, ["cos"] = Math.Cos, ["tan"] = Math.Tan, ["asin"] = Math.Asin, ["acos"] = Math.Acos,
            ["atan"] = Math.Atan, ["sinh"] = Math.Sinh, ["cosh"] = Math.Cosh, ["tanh"] = Math.Tanh, ["cbrt"] = Math.Cbrt,
        };
        foreach (var (name, f) in unary)
        {
            Fn0(t, name, (v, _) => f(Number(v, name)));
        }

        Fn0(t, "abs", (v, _) => v is double d ? Math.Abs(d) : throw new JqError($"{JqValues.Describe(v)} has no absolute value"));
        var binary = new Dictionary<string, Func<double, double, double>>
        {
            ["pow"] = Math.Pow, ["atan2"] = Math.Atan2, ["fmin"] = Math.Min, ["fmax"] = Math.Max, ["fmod"] = (a, b) => a % b,
        };
        foreach (var (name, f) in binary)
        {
            Fn2(t, name, (_, a, b, _) => f(Number(a, name), Number(b, name)));
        }
    }

    private static void AddDates(Dictionary<string, JqBuiltin> t)
    {
        Fn0(t, "now", (_, env) => env.Run.Time.GetUtcNow().ToUnixTimeMilliseconds() / 1000d);
        Fn0(t, "todate", (v, _) => Format(BrokenDown(v, "todate"), IsoFormat));
        Fn0(t, "todateiso8601", (v, _) => Format(BrokenDown(v, "todateiso8601"), IsoFormat));
        Fn0(t, "date", (v, _) => Format(BrokenDown(v, "date"), IsoFormat));
        Fn0(t, "fromdate", (v, _) => FromIso(v));
        Fn0(t, "fromdateiso8601", (v, _) => FromIso(v));
        Fn0(t, "gmtime", (v, _) => GmTime(Seconds(Number(v, "gmtime"))));
        Fn0(t, "mktime", (v, _) => Seconds(BrokenDown(v, "mktime")));
        Fn1(t, "strftime", (v, f, _) => Format(BrokenDown(v, "strftime"), f as string ?? throw new JqError("strftime/1 requires a string format")));
    }

    private static DateTimeOffset Seconds(double seconds)
    {
        if (double.IsNaN(seconds) || seconds < -62135596800 || seconds > 253402300799)
        {
            throw new JqError($"{JqValues.Describe(seconds)} is not a representable time");
        }

        return DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }

    private static double Seconds(DateTimeOffset t) => Math.Floor((t - DateTimeOffset.UnixEpoch).TotalSeconds);

    /// <summary>jq's "broken down time": [year, month (0-11), day, hours, minutes, seconds, weekday, day of year (0-365)].</summary>
    private static object?[] GmTime(DateTimeOffset t) =>
    [
        (double)t.Year, (double)(t.Month - 1), (double)t.Day, (double)t.Hour, (double)t.Minute,
        t.Second + (t.Ticks % TimeSpan.TicksPerSecond) / (double)TimeSpan.TicksPerSecond, (double)(int)t.DayOfWeek, (double)(t.DayOfYear - 1),
    ];

    private static DateTimeOffset BrokenDown(object? v, string what)
    {
        switch (v)
        {
            case double d:
                return Seconds(d);
            case object?[] { Length: >= 6 } a when a.Take(6).All(x => x is double):
                try
                {
                    var seconds = (double)a[5]!;
                    return new DateTimeOffset((int)(double)a[0]!, 1, 1, 0, 0, 0, TimeSpan.Zero)
                        .AddMonths((int)(double)a[1]!).AddDays((int)(double)a[2]! - 1).AddHours((int)(double)a[3]!)
                        .AddMinutes((int)(double)a[4]!).AddSeconds(Math.Floor(seconds));
                }
                catch (ArgumentOutOfRangeException)
                {
                    throw new JqError($"{JqValues.Describe(v)} is not a valid broken down time");
                }

            default:
                throw new JqError($"{what} requires parsed datetime inputs (a number of seconds or a broken down time)");
        }
    }

    private static object? FromIso(object? v)
    {
        if (v is string s && DateTimeOffset.TryParseExact(s, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
        {
            return Seconds(t);
        }

        throw new JqError($"date {JqValues.ToJson(v)} does not match format \"{IsoFormat}\"");
    }

    /// <summary>The common strftime conversions, in UTC; unknown ones are copied as written.</summary>
    private static string Format(DateTimeOffset t, string format)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 == format.Length)
            {
                sb.Append(format[i]);
                continue;
            }

            var c = format[++i];
            sb.Append(c switch
            {
                'Y' => t.Year.ToString("D4", CultureInfo.InvariantCulture),
                'y' => (t.Year % 100).ToString("D2", CultureInfo.InvariantCulture),
                'm' => t.Month.ToString("D2", CultureInfo.InvariantCulture),
                'd' => t.Day.ToString("D2", CultureInfo.InvariantCulture),
                'e' => t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'H' => t.Hour.ToString("D2", CultureInfo.InvariantCulture),
                'I' => ((t.Hour + 11) % 12 + 1).ToString("D2", CultureInfo.InvariantCulture),
                'M' => t.Minute.ToString("D2", CultureInfo.InvariantCulture),
                'S' => t.Second.ToString("D2", CultureInfo.InvariantCulture),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'j' => t.DayOfYear.ToString("D3", CultureInfo.InvariantCulture),
                'a' => t.ToString("ddd", CultureInfo.InvariantCulture),
                'A' => t.ToString("dddd", CultureInfo.InvariantCulture),
                'b' or 'h' => t.ToString("MMM", CultureInfo.InvariantCulture),
                'B' => t.ToString("MMMM", CultureInfo.InvariantCulture),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                'w' => ((int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                's' => Seconds(t).ToString(CultureInfo.InvariantCulture),
                'Z' => "UTC",
                'z' => "+0000",
                'T' => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                'D' => t.ToString("MM/dd/yy", CultureInfo.InvariantCulture),
                'F' => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                'R' => t.ToString("HH:mm", CultureInfo.InvariantCulture),
                'c' => t.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture),
                '%' => "%",
                _ => "%" + c,
            });
        }

        return sb.ToString();
    }
}
