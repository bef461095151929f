using EventGateway.Model;

namespace EventGateway.Workflows.Schedules;

/// <summary>What one pass over a CronWorkflow decided: run a tick, skip it (and why), and when to look again.</summary>
public sealed record CronDecision(DateTimeOffset? Tick, bool Run, string? SkipReason, bool ReplaceActive, DateTimeOffset Wake, bool Forbidden = false);

/// <summary>
/// The scheduling decision, pure: no store, no clock of its own. Only the latest tick since the last one handled is
/// considered (no backfill). A tick that came due while this scheduler was watching runs unless it is found later
/// than <c>startingDeadlineSeconds</c>; one that came due before (downtime, suspension) is missed and runs only when
/// a deadline is set and not yet passed, so Argo's default of no deadline never runs a missed tick.
/// </summary>
public static class CronPlanner
{
    /// <param name="cursor">the last tick handled (run or skipped); only later ticks are due</param>
    /// <param name="liveSince">since when this scheduler has been watching the schedule unsuspended</param>
    /// <param name="active">the running workflows this CronWorkflow created</param>
    /// <param name="whenRefusal">evaluates <c>when</c> for a tick about to run: a reason to skip it, or null</param>
    public static CronDecision Decide(CronWorkflowSpec spec, CronSchedule schedule, DateTimeOffset now, DateTimeOffset cursor,
        DateTimeOffset liveSince, IReadOnlyList<string> active, Func<string?> whenRefusal)
    {
        var wake = schedule.Next(now);
        if (schedule.Latest(cursor, now) is not { } tick) return new CronDecision(null, false, null, false, wake);

        var late = now - tick;
        var deadline = spec.StartingDeadlineSeconds is > 0 and var d ? TimeSpan.FromSeconds(d) : (TimeSpan?)null;
        string? skip = null;
        var forbidden = false;
        if (tick < liveSince && (deadline is null || late > deadline))
            skip = deadline is null
                ? "missed while not scheduling (service down or suspended); without startingDeadlineSeconds a missed tick is not run"
                : $"missed while not scheduling and found {Seconds(late)} late, more than startingDeadlineSeconds ({spec.StartingDeadlineSeconds})";
        else if (deadline is not null && late > deadline)
            skip = $"found {Seconds(late)} late, more than startingDeadlineSeconds ({spec.StartingDeadlineSeconds})";
        else if (spec.ConcurrencyPolicy == "Forbid" && active.Count > 0)
        {
            skip = $"concurrencyPolicy Forbid: {string.Join(", ", active)} still running";
            forbidden = true;
        }
        else if (whenRefusal() is { } refusal)
            skip = refusal;

        return skip is null
            ? new CronDecision(tick, true, null, spec.ConcurrencyPolicy == "Replace" && active.Count > 0, wake)
            : new CronDecision(tick, false, skip, false, wake, forbidden);
    }

    private static string Seconds(TimeSpan t) => $"{Math.Floor(t.TotalSeconds):0}s";
}
