using System.Globalization;
using System.Text.RegularExpressions;
using EventGateway.Model;

namespace EventGateway.Events.Sensors.Filters;

/// <summary>Argo's context filter: each non-empty field of type, subject, source, datacontenttype must equal the event's.</summary>
internal static class ContextFilters
{
    public static KindOutcome Evaluate(EventContextFilter expected, CloudEventView actual)
    {
        return Check("type", expected.Type, actual.Type)
            ?? Check("subject", expected.Subject, actual.Subject)
            ?? Check("source", expected.Source, actual.Source)
            ?? Check("datacontenttype", expected.DataContentType, actual.DataContentType)
            ?? KindOutcome.Pass;

        static KindOutcome? Check(string field, string? want, string got) =>
            string.IsNullOrEmpty(want) || want == got
                ? null
                : KindOutcome.NoMatch($"context filter: {field} {Show.Quote(got)} does not equal {Show.Quote(want)}");
    }
}

/// <summary>
/// Argo's time filter on the event time: start and stop are clock times on the event's date (in the filter's
/// zone, else the default zone, else UTC). start &lt; stop accepts [start, stop); otherwise (including equal)
/// it accepts t &gt;= start or t &lt; stop, i.e. a window across midnight.
/// </summary>
internal static partial class TimeFilters
{
    // Go's time.Parse("15:04:05"): 1-2 digit hour, 2-digit minute and second, optional fraction.
    [GeneratedRegex(@"^(?<h>\d{1,2}):(?<m>\d{2}):(?<s>\d{2})(?<f>\.\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ClockPattern();

    public static bool TryParseClock(string? text, out TimeSpan clock, out string error)
    {
        clock = default;
        var m = ClockPattern().Match(text ?? string.Empty);
        if (!m.Success)
        {
            error = $"cannot parse {Show.Quote(text ?? string.Empty)} as hh:mm:ss";
            return false;
        }

        var h = int.Parse(m.Groups["h"].Value, CultureInfo.InvariantCulture);
        var min = int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture);
        var s = int.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture);
        if (h > 23 || min > 59 || s > 59)
        {
            error = $"{Show.Quote(text!)} is out of range (hh 0-23, mm and ss 0-59)";
            return false;
        }

        var fraction = m.Groups["f"].Success ? double.Parse("0" + m.Groups["f"].Value, CultureInfo.InvariantCulture) : 0;
        clock = new TimeSpan(h, min, s) + TimeSpan.FromTicks((long)Math.Round(fraction * TimeSpan.TicksPerSecond));
        error = string.Empty;
        return true;
    }

    public static bool TryResolveZone(string? name, TimeZoneInfo? fallback, out TimeZoneInfo zone, out string error)
    {
        error = string.Empty;
        if (string.IsNullOrEmpty(name))
        {
            zone = fallback ?? TimeZoneInfo.Utc;
            return true;
        }

        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(name);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            zone = TimeZoneInfo.Utc;
            error = $"invalid timezone {Show.Quote(name)}";
            return false;
        }
    }

    public static KindOutcome Evaluate(TimeFilter filter, DateTimeOffset eventTime, TimeZoneInfo? defaultZone)
    {
        if (!TryParseClock(filter.Start, out var start, out var error) || !TryParseClock(filter.Stop, out var stop, out error)
            || !TryResolveZone(filter.Timezone, defaultZone, out var zone, out error))
        {
            return KindOutcome.Error("time", error);
        }

        var local = TimeZoneInfo.ConvertTime(eventTime, zone);
        var startAt = OnDate(local, start, zone);
        var stopAt = OnDate(local, stop, zone);
        var inside = startAt < stopAt
            ? eventTime >= startAt && eventTime < stopAt
            : eventTime >= startAt || eventTime < stopAt;
        return inside
            ? KindOutcome.Pass
            : KindOutcome.NoMatch(
                $"time filter: event time {local.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} ({zone.Id}) is outside [{filter.Start}, {filter.Stop})");
    }

    private static DateTimeOffset OnDate(DateTimeOffset local, TimeSpan clock, TimeZoneInfo zone)
    {
        var wall = local.Date + clock;
        return new DateTimeOffset(wall, zone.GetUtcOffset(wall));
    }
}
