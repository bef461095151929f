using System.Globalization;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Events.EventSources.Calendar;

/// <summary>
/// When a <c>calendar</c> event ticks. A cron <c>schedule</c> is evaluated in the wall time of
/// <c>timezone</c>: a time skipped by a DST jump fires at the same distance past the jump (02:30
/// on a spring-forward night fires at 03:30), a time that occurs twice fires once, the first time.
/// An <c>interval</c> ticks every interval (whole seconds, at least 1 s, as Argo rounds) from an
/// origin, so the phase survives a restart. <c>exclusionDates</c> drop every tick on those days.
/// </summary>
public sealed class CalendarSchedule
{
    /// <summary>How far ahead a tick is looked for before the schedule is called empty (Feb 29 recurs within 8 years).</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(366 * 10);
    private const int MaxExcludedInARow = 100_000;

    private readonly CronSpec? _cron;
    private readonly TimeSpan _interval;
    private readonly HashSet<DateOnly> _excluded;

    private CalendarSchedule(CronSpec? cron, TimeSpan interval, TimeZoneInfo zone, HashSet<DateOnly> excluded, string description)
    {
        _cron = cron;
        _interval = interval;
        Zone = zone;
        _excluded = excluded;
        Description = description;
    }

    public TimeZoneInfo Zone { get; }
    public bool IsInterval => _cron is null;
    public string Description { get; }

    /// <summary>Reads the spec (validated at load); <paramref name="localZone"/> applies when it names no timezone.</summary>
    /// <exception cref="FormatException">a field is not what it should be; the message names it.</exception>
    public static CalendarSchedule From(CalendarEventSource spec, TimeZoneInfo localZone)
    {
        var zone = localZone;
        if (!string.IsNullOrEmpty(spec.Timezone) && !TimeZones.TryFind(spec.Timezone, out zone, out var zoneError)) throw new FormatException($"timezone: {zoneError}");
        var excluded = new HashSet<DateOnly>();
        foreach (var entry in spec.ExclusionDates ?? [])
        {
            if (!TryParseExclusion(entry, out var days, out var error)) throw new FormatException($"exclusionDates: {error}");
            excluded.UnionWith(days);
        }
        // As Argo: a schedule wins over an interval when both are given.
        if (!string.IsNullOrEmpty(spec.Schedule))
        {
            if (!CronSpec.TryParse(spec.Schedule, out var cron, out var cronError)) throw new FormatException($"schedule: {cronError}");
            return new CalendarSchedule(cron, TimeSpan.Zero, zone, excluded, $"cron '{spec.Schedule}' in {zone.Id}");
        }
        if (!TryParseInterval(spec.Interval, out var interval, out var intervalError)) throw new FormatException($"interval: {intervalError}");
        return new CalendarSchedule(null, interval, zone, excluded, $"every {spec.Interval!.Trim()}");
    }

    /// <summary>The first tick strictly after <paramref name="after"/>; an interval counts from <paramref name="origin"/>.</summary>
    /// <exception cref="InvalidOperationException">no tick within <see cref="Horizon"/>.</exception>
    public DateTimeOffset Next(DateTimeOffset after, DateTimeOffset origin)
    {
        var t = after;
        for (var i = 0; i < MaxExcludedInARow; i++)
        {
            t = _cron is null ? NextInterval(t, origin) : NextCron(t);
            if (!_excluded.Contains(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(t, Zone).DateTime))) return t;
        }
        throw new InvalidOperationException($"{Description}: more than {MaxExcludedInARow} ticks in a row fall on exclusion dates");
    }

    /// <summary>
    /// The ticks in (<paramref name="after"/>, <paramref name="upTo"/>], at most the latest <paramref name="max"/>;
    /// <paramref name="dropped"/> says whether earlier ones were left out.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> Between(DateTimeOffset after, DateTimeOffset upTo, DateTimeOffset origin, int max, out bool dropped)
    {
        dropped = false;
        var from = after;
        if (Count(from, upTo, origin, max + 1) > max)
        {
            // Too many: find by bisection the latest start that leaves at most max, without walking them all.
            dropped = true;
            var (lo, hi) = (after, upTo);
            while (hi - lo > TimeSpan.FromSeconds(1))
            {
                var mid = lo + (hi - lo) / 2;
                if (Count(mid, upTo, origin, max + 1) > max) lo = mid;
                else hi = mid;
            }
            from = hi;
        }
        var ticks = new List<DateTimeOffset>();
        for (var t = Next(from, origin); t <= upTo && ticks.Count < max; t = Next(t, origin)) ticks.Add(t);
        return ticks;
    }

    private int Count(DateTimeOffset after, DateTimeOffset upTo, DateTimeOffset origin, int limit)
    {
        var n = 0;
        for (var t = Next(after, origin); t <= upTo && n < limit; t = Next(t, origin)) n++;
        return n;
    }

    private DateTimeOffset NextInterval(DateTimeOffset after, DateTimeOffset origin)
    {
        // The smallest k with origin + k * interval > after (floor division, also before the origin).
        var elapsed = (after - origin).Ticks;
        var k = Math.DivRem(elapsed, _interval.Ticks, out var rest);
        if (rest < 0) k--;
        return origin + TimeSpan.FromTicks((k + 1) * _interval.Ticks);
    }

    private DateTimeOffset NextCron(DateTimeOffset after)
    {
        var local = DateTime.SpecifyKind(TimeZoneInfo.ConvertTime(after, Zone).DateTime, DateTimeKind.Unspecified);
        var end = local + Horizon;
        while (true)
        {
            var next = _cron!.Next(local, end);
            if (next >= end) throw new InvalidOperationException($"{Description}: no tick within {Horizon.TotalDays / 366:0} years");
            foreach (var instant in Instants(next))
                if (instant > after) return instant;
            local = next;
        }
    }

    /// <summary>The instant a wall time of the zone stands for; one skipped by a jump is moved past it.</summary>
    private IEnumerable<DateTimeOffset> Instants(DateTime local)
    {
        if (Zone.IsInvalidTime(local))
        {
            // Use the offset in force before the jump: 02:30 then reads as 03:30 after it.
            yield return new DateTimeOffset(local, Zone.GetUtcOffset(local.AddDays(-1)));
            yield break;
        }
        if (Zone.IsAmbiguousTime(local))
        {
            // Only the first of the two counts, so neither a running listener nor one restarted in between fires it twice.
            yield return new DateTimeOffset(local, Zone.GetAmbiguousTimeOffsets(local).Max());
            yield break;
        }
        yield return new DateTimeOffset(local, Zone.GetUtcOffset(local));
    }

    /// <summary>The tick as Go's <c>time.Time.String()</c> prints it in the zone, which is what Argo puts in <c>eventTime</c>.</summary>
    public string EventTime(DateTimeOffset tick) => GoTime.Format(tick, Zone);

    /// <summary>A Go duration, rounded down to whole seconds and at least 1 s, as Argo's constant-delay schedule does.</summary>
    public static bool TryParseInterval(string? text, out TimeSpan interval, out string error)
    {
        interval = TimeSpan.Zero;
        error = "";
        if (!Durations.TryParse(text, out var d))
        {
            error = $"'{text}' is not a duration like 10s, 5m or 1h";
            return false;
        }
        if (d <= TimeSpan.Zero)
        {
            error = $"'{text}' must be positive";
            return false;
        }
        interval = d < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(Math.Floor(d.TotalSeconds));
        return true;
    }

    /// <summary>
    /// One <c>exclusionDates</c> entry in Argo's RFC 5545 form, <c>EXDATE:20240101T000000Z[,20240102T000000Z...]</c>.
    /// As Argo, only the date counts: every tick on that day (in the schedule's zone) is dropped.
    /// </summary>
    public static bool TryParseExclusion(string? entry, out List<DateOnly> days, out string error)
    {
        const string prefix = "EXDATE:";
        days = [];
        error = "";
        if (entry is null || !entry.StartsWith(prefix, StringComparison.Ordinal))
        {
            error = $"'{entry}' is not an exclusion date; expected {prefix}YYYYMMDDTHHMMSSZ (several separated by commas)";
            return false;
        }
        foreach (var part in entry[prefix.Length..].Split(','))
        {
            if (!DateTime.TryParseExact(part, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
            {
                error = $"'{part}' in '{entry}' is not a UTC date-time like 20240101T000000Z";
                return false;
            }
            days.Add(DateOnly.FromDateTime(at));
        }
        return true;
    }
}
