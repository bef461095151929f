using System.Globalization;
using System.Text;

namespace EventGateway.Languages.GoTemplates;

/// <summary>
/// Go's time.Format: a layout written as the reference time <c>Mon Jan 2 15:04:05 MST 2006</c>, each element
/// of which stands for that part of the time (<c>2006</c> the year, <c>01</c> the month, <c>.000</c> milliseconds,
/// <c>Z07:00</c> the offset ...). Anything else in the layout is copied as is.
/// </summary>
internal static class GoTimeLayout
{
    // Longest first where one element is a prefix of another (January before Jan, 2006 before 2 ...).
    private static readonly string[] Elements =
    [
        "January", "Jan", "Monday", "Mon", "MST",
        "2006", "002", "01", "02", "03", "04", "05", "06", "_2", "15", "1", "2", "3", "4", "5",
        "PM", "pm",
        "Z07:00:00", "Z07:00", "Z0700", "Z07", "-07:00:00", "-07:00", "-0700", "-07",
    ];

    /// <summary>In an IANA or Windows zone; "Local" and unknown zones are UTC (Argo's controller runs in UTC).</summary>
    public static string Format(DateTimeOffset t, string layout, string zone)
    {
        TimeZoneInfo? tz = null;
        if (zone is not ("" or "Local" or "UTC"))
        {
            try { tz = TimeZoneInfo.FindSystemTimeZoneById(zone); }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException) { }
        }
        return Format(tz is null ? t.ToUniversalTime() : TimeZoneInfo.ConvertTime(t, tz), layout);
    }

    public static string Format(DateTimeOffset t, string layout)
    {
        var sb = new StringBuilder(layout.Length + 8);
        var i = 0;
        while (i < layout.Length)
        {
            if (Fraction(layout, i) is { } digits)
            {
                var length = digits.Length + 1;
                var fraction = (t.Ticks % TimeSpan.TicksPerSecond).ToString("0000000", CultureInfo.InvariantCulture) + "00";
                var part = fraction[..(length - 1)];
                if (digits[0] == '9') part = part.TrimEnd('0');
                if (part.Length > 0) sb.Append('.').Append(part);
                i += length;
                continue;
            }
            var element = Elements.FirstOrDefault(e => string.CompareOrdinal(layout, i, e, 0, e.Length) == 0 && !SplitsAWord(layout, i, e));
            if (element is null)
            {
                sb.Append(layout[i]);
                i++;
                continue;
            }
            sb.Append(Render(t, element));
            i += element.Length;
        }
        return sb.ToString();
    }

    /// <summary>".000" / ".999" (and ",000"): a fraction of a second with that many digits (9s drop trailing zeros).</summary>
    private static string? Fraction(string layout, int i)
    {
        if (layout[i] is not ('.' or ',') || i + 1 >= layout.Length || layout[i + 1] is not ('0' or '9')) return null;
        var j = i + 1;
        while (j < layout.Length && layout[j] == layout[i + 1]) j++;
        // Go takes the run as a fraction only when no digit follows it.
        return j < layout.Length && char.IsAsciiDigit(layout[j]) ? null : layout[(i + 1)..j];
    }

    /// <summary>"Jan" and "Mon" count only when not followed by a lower-case letter (Go: "Month" is not "Mon" + "th").</summary>
    private static bool SplitsAWord(string layout, int i, string element) =>
        element is "Jan" or "Mon" && i + element.Length < layout.Length && char.IsAsciiLetterLower(layout[i + element.Length]);

    private static string Render(DateTimeOffset t, string element)
    {
        var c = CultureInfo.InvariantCulture;
        var offset = t.Offset;
        string Offset(bool z, bool colon, bool seconds, bool hoursOnly)
        {
            if (z && offset == TimeSpan.Zero) return "Z";
            var sign = offset < TimeSpan.Zero ? "-" : "+";
            var abs = offset.Duration();
            var text = sign + abs.Hours.ToString("00", c);
            if (hoursOnly) return text;
            text += (colon ? ":" : "") + abs.Minutes.ToString("00", c);
            return seconds ? text + (colon ? ":" : "") + abs.Seconds.ToString("00", c) : text;
        }
        var hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        return element switch
        {
            "January" => t.ToString("MMMM", c),
            "Jan" => t.ToString("MMM", c),
            "Monday" => t.ToString("dddd", c),
            "Mon" => t.ToString("ddd", c),
            "MST" => offset == TimeSpan.Zero ? "UTC" : Offset(false, false, false, false),
            "2006" => t.Year.ToString("0000", c),
            "06" => (t.Year % 100).ToString("00", c),
            "01" => t.Month.ToString("00", c),
            "1" => t.Month.ToString(c),
            "02" => t.Day.ToString("00", c),
            "2" => t.Day.ToString(c),
            "_2" => t.Day.ToString(c).PadLeft(2),
            "002" => t.DayOfYear.ToString("000", c),
            "15" => t.Hour.ToString("00", c),
            "03" => hour12.ToString("00", c),
            "3" => hour12.ToString(c),
            "04" => t.Minute.ToString("00", c),
            "4" => t.Minute.ToString(c),
            "05" => t.Second.ToString("00", c),
            "5" => t.Second.ToString(c),
            "PM" => t.Hour >= 12 ? "PM" : "AM",
            "pm" => t.Hour >= 12 ? "pm" : "am",
            "Z07:00:00" => Offset(true, true, true, false),
            "Z07:00" => Offset(true, true, false, false),
            "Z0700" => Offset(true, false, false, false),
            "Z07" => Offset(true, false, false, true),
            "-07:00:00" => Offset(false, true, true, false),
            "-07:00" => Offset(false, true, false, false),
            "-0700" => Offset(false, false, false, false),
            _ => Offset(false, false, false, true),
        };
    }
}
