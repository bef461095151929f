using EventGateway.Model;

namespace EventGateway.Workflows.Schedules;

/// <summary>
/// When a CronWorkflow ticks: the union of its <c>schedules</c>, read in the wall time of <c>timezone</c> the way
/// Argo's cron library (robfig/cron) reads them. A wall time skipped by a DST jump does not tick that day (02:30 on
/// a spring-forward night is skipped), and a wall time that occurs twice ticks twice (01:30 on a fall-back night).
/// Parsing is the calendar event source's <see cref="CronSpec"/>; only the mapping of wall time to instants differs.
/// </summary>
public sealed class CronSchedule
{
    /// <summary>How far ahead a tick is looked for before the schedule is called empty (Feb 29 recurs within 8 years).</summary>
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(366 * 10);

    /// <summary>More than any zone's DST shift: wall times this far apart keep their order as instants.</summary>
    private static readonly TimeSpan MaxShift = TimeSpan.FromHours(3);

    private readonly IReadOnlyList<CronSpec> _crons;

    private CronSchedule(IReadOnlyList<CronSpec> crons, TimeZoneInfo zone, string description)
    {
        _crons = crons;
        Zone = zone;
        Description = description;
    }

    public TimeZoneInfo Zone { get; }

    /// <summary>E.g. <c>'0 2 * * *' in America/New_York</c>; also what tells a changed schedule from the old one.</summary>
    public string Description { get; }

    /// <summary>
    /// The effective schedule lines with their field paths: <c>schedules</c>, or the pre-4.0 singular <c>schedule</c>
    /// read as a one-item list (see <see cref="CronWorkflowConversion"/>).
    /// </summary>
    public static IReadOnlyList<(string Path, string Cron)> Entries(CronWorkflowSpec spec) =>
        spec.Schedules is { Count: > 0 } list ? list.Select((s, i) => ($"spec.schedules[{i}]", s)).ToList()
        : spec.Schedule is { } one ? [("spec.schedule", one)]
        : [];

    /// <summary>Reports every problem of the schedule fields through <paramref name="fail"/> (path, reason).</summary>
    public static CronSchedule? TryParse(CronWorkflowSpec spec, TimeZoneInfo localZone, Action<string, string> fail)
    {
        var ok = true;
        var zone = localZone;
        if (spec.Schedule is not null && spec.Schedules is { Count: > 0 })
        {
            fail("spec.schedule", "set either schedules (a list) or the deprecated schedule, not both");
            ok = false;
        }
        var entries = Entries(spec);
        if (entries.Count == 0)
        {
            fail("spec.schedules", "missing: a CronWorkflow needs at least one schedule");
            ok = false;
        }
        var crons = new List<CronSpec>();
        foreach (var (path, text) in entries)
        {
            if (CronSpec.TryParse(text ?? "", out var cron, out var error)) crons.Add(cron);
            else { fail(path, error); ok = false; }
        }
        if (!string.IsNullOrEmpty(spec.Timezone) && !TimeZones.TryFind(spec.Timezone, out zone, out var zoneError))
        {
            fail("spec.timezone", zoneError);
            ok = false;
        }
        return ok ? new CronSchedule(crons, zone, $"{string.Join(", ", entries.Select(e => $"'{e.Cron}'"))} in {zone.Id}") : null;
    }

    /// <summary>The first tick strictly after <paramref name="after"/>.</summary>
    /// <exception cref="InvalidOperationException">no tick within ten years (e.g. <c>0 0 30 2 *</c>).</exception>
    public DateTimeOffset Next(DateTimeOffset after)
    {
        // Wall times are walked in order and mapped to instants; around a fall-back overlap a later wall time can be an
        // earlier instant, so in a zone with DST the walk starts and goes on MaxShift around and keeps the earliest.
        var shift = Zone.SupportsDaylightSavingTime ? MaxShift : TimeSpan.Zero;
        var wall = Wall(after - shift);
        var end = wall + Horizon;
        DateTimeOffset? best = null;
        DateTime bestWall = default;
        while (true)
        {
            var next = NextWall(wall, end);
            if (next >= end || (best is not null && next > bestWall + shift)) break;
            foreach (var instant in Instants(next))
                if (instant > after && (best is null || instant < best))
                    (best, bestWall) = (instant, next);
            wall = next;
        }
        return best ?? throw new InvalidOperationException($"{Description}: no tick within {Horizon.TotalDays / 366:0} years");
    }

    /// <summary>The latest tick in (<paramref name="after"/>, <paramref name="upTo"/>], without walking every one after a long gap.</summary>
    public DateTimeOffset? Latest(DateTimeOffset after, DateTimeOffset upTo)
    {
        if (upTo <= after) return null;
        foreach (var window in (ReadOnlySpan<TimeSpan>)[TimeSpan.FromHours(1), TimeSpan.FromDays(1), TimeSpan.FromDays(32), TimeSpan.FromDays(367), Horizon])
        {
            var from = upTo - window > after ? upTo - window : after;
            DateTimeOffset? last = null;
            try
            {
                for (var t = Next(from); t <= upTo; t = Next(t)) last = t;
            }
            catch (InvalidOperationException) { }
            if (last is not null || from == after) return last;
        }
        return null;
    }

    private DateTime Wall(DateTimeOffset instant) =>
        DateTime.SpecifyKind(TimeZoneInfo.ConvertTime(instant, Zone).DateTime, DateTimeKind.Unspecified);

    private DateTime NextWall(DateTime after, DateTime end)
    {
        var next = end;
        foreach (var cron in _crons)
        {
            var n = cron.Next(after, end);
            if (n < next) next = n;
        }
        return next;
    }

    /// <summary>The instants a wall time stands for: none in a spring-forward gap, two in a fall-back overlap.</summary>
    private IEnumerable<DateTimeOffset> Instants(DateTime wall)
    {
        if (Zone.IsInvalidTime(wall)) yield break;
        if (Zone.IsAmbiguousTime(wall))
        {
            foreach (var offset in Zone.GetAmbiguousTimeOffsets(wall)) yield return new DateTimeOffset(wall, offset);
            yield break;
        }
        yield return new DateTimeOffset(wall, Zone.GetUtcOffset(wall));
    }
}
