using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Schedules;
using static EventGateway.Events.EventSources.EventSettingsChecks;

namespace EventGateway.Events.EventSources.Calendar;

/// <summary>Argo's <c>calendar</c> source type: ticks of a cron schedule or an interval. At load the schedule must parse and fire, the zone and dates must exist.</summary>
public sealed class CalendarSourceType() : EventSourceType<CalendarEventSource>("calendar")
{
    public static CalendarSourceType Instance { get; } = new();

    protected override Dictionary<string, CalendarEventSource>? EventsOf(EventSourceSpec spec) => spec.Calendar;

    public override IEventListener Listen(CalendarEventSource settings) => new CalendarListener(settings);

    public override void Validate(string at, CalendarEventSource spec, Action<string, string> fail)
    {
        if (!string.IsNullOrEmpty(spec.Timezone) && !TimeZones.TryFind(spec.Timezone, out _, out var zoneError))
            fail($"{at}.timezone", zoneError);

        if (string.IsNullOrEmpty(spec.Schedule) && string.IsNullOrEmpty(spec.Interval))
            fail(at, "missing: a calendar event needs a schedule (cron, e.g. '0 2 * * *') or an interval (e.g. 1h)");
        else if (!string.IsNullOrEmpty(spec.Schedule))
        {
            if (!CronSpec.TryParse(spec.Schedule, out var cron, out var cronError)) fail($"{at}.schedule", cronError);
            else
            {
                // A valid expression may still name a day that never comes (0 0 30 2 *).
                var from = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
                if (cron.Next(from, from + CalendarSchedule.Horizon) >= from + CalendarSchedule.Horizon)
                    fail($"{at}.schedule", $"'{spec.Schedule}' never fires (no matching date within 10 years)");
            }
        }
        else if (!CalendarSchedule.TryParseInterval(spec.Interval, out _, out var intervalError))
            fail($"{at}.interval", intervalError);

        for (var i = 0; i < (spec.ExclusionDates?.Count ?? 0); i++)
            if (!CalendarSchedule.TryParseExclusion(spec.ExclusionDates![i], out _, out var exError))
                fail($"{at}.exclusionDates[{i}]", exError);

        if (spec.Persistence?.Catchup?.MaxDuration is { Length: > 0 } md && (!Durations.TryParse(md, out var window) || window <= TimeSpan.Zero))
            fail($"{at}.persistence.catchup.maxDuration", $"'{md}' is not a positive duration like 30m or 24h");
        ValidateFilter(at, spec.Filter, fail);
    }
}
