using NCrontab;

namespace EventGateway.Workflows.Schedules;

/// <summary>
/// A 5-field cron expression read as Argo's cron library reads it: <c>?</c> means any, and when both
/// day-of-month and day-of-week are restricted a day matching either fires (NCrontab alone needs both).
/// </summary>
public sealed class CronSpec
{
    private readonly CrontabSchedule _main;
    private readonly CrontabSchedule? _byWeekday;

    private CronSpec(CrontabSchedule main, CrontabSchedule? byWeekday)
    {
        _main = main;
        _byWeekday = byWeekday;
    }

    public static bool TryParse(string text, out CronSpec cron, out string error)
    {
        cron = null!;
        error = "";
        var fields = text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            error = $"'{text}' has {fields.Length} fields; expected 5 (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'";
            return false;
        }
        for (var i = 2; i < 5; i += 2) if (fields[i] == "?") fields[i] = "*";
        try
        {
            var restricted = !fields[2].StartsWith('*') && !fields[4].StartsWith('*');
            if (!restricted)
            {
                cron = new CronSpec(CrontabSchedule.Parse(string.Join(' ', fields)), null);
                return true;
            }
            cron = new CronSpec(CrontabSchedule.Parse($"{fields[0]} {fields[1]} {fields[2]} {fields[3]} *"),
                CrontabSchedule.Parse($"{fields[0]} {fields[1]} * {fields[3]} {fields[4]}"));
            return true;
        }
        catch (CrontabException e)
        {
            error = $"'{text}' is not a cron expression: {e.Message.Split('\n')[0].Trim()}";
            return false;
        }
    }

    /// <summary>The first matching wall time strictly after <paramref name="after"/>, or <paramref name="end"/> when none comes before it.</summary>
    public DateTime Next(DateTime after, DateTime end)
    {
        var next = _main.GetNextOccurrence(after, end);
        if (_byWeekday is null) return next;
        var other = _byWeekday.GetNextOccurrence(after, end);
        return other < next ? other : next;
    }
}
