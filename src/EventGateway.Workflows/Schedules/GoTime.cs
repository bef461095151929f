using System.Globalization;
using System.Text;

namespace EventGateway.Workflows.Schedules;

/// <summary>Go's <c>time.Time.String()</c>: <c>2006-01-02 15:04:05.999999999 -0700 MST</c>, the form of Argo's calendar <c>eventTime</c>.</summary>
public static class GoTime
{
    public static string Format(DateTimeOffset instant, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(instant, zone);
        var sb = new StringBuilder(40);
        sb.Append(local.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        var fraction = local.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0) sb.Append('.').Append((fraction * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0'));
        var offset = local.Offset;
        sb.Append(offset < TimeSpan.Zero ? " -" : " +").Append(offset.Duration().ToString("hhmm", CultureInfo.InvariantCulture));
        sb.Append(' ').Append(Abbreviation(zone, local));
        return sb.ToString();
    }

    /// <summary>
    /// The zone's abbreviation (CET, EDT, -03), as the tz database gives it; .NET reports the long
    /// name for UTC, which Go prints as "UTC".
    /// </summary>
    private static string Abbreviation(TimeZoneInfo zone, DateTimeOffset local)
    {
        var name = zone.IsDaylightSavingTime(local) ? zone.DaylightName : zone.StandardName;
        if (!string.IsNullOrEmpty(name) && !name.Contains(' ', StringComparison.Ordinal)) return name;
        var offset = local.Offset;
        return offset == TimeSpan.Zero ? "UTC" : (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(offset.Minutes == 0 ? "hh" : "hhmm", CultureInfo.InvariantCulture);
    }
}
