using Shouldly;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>Load-time errors of the calendar source: exact field path and reason.</summary>
public sealed class CalendarValidatorTests
{
    private static IReadOnlyList<string> Errors(string fields)
    {
        var yaml = "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata: {name: cal}\nspec:\n  calendar:\n    nightly:\n" +
                   string.Concat(fields.Split('\n').Select(l => "      " + l + "\n"));
        try
        {
            ManifestReader.Read(yaml, "cal.yaml");
            return [];
        }
        catch (ManifestException e)
        {
            return e.Errors.Select(x => $"{x.Path}: {x.Reason}").ToList();
        }
    }

    [Theory]
    [InlineData("schedule: \"0 2 * * *\"\ntimezone: Europe/Berlin")]
    [InlineData("interval: 1h30m")]
    [InlineData("schedule: \"0 0 29 2 *\"")]
    [InlineData("schedule: \"*/5 9-17 ? * MON-FRI\"\nexclusionDates: [\"EXDATE:20241225T000000Z,20241226T000000Z\"]")]
    [InlineData("interval: 10s\nuserPayload: {a: 1}\nmetadata: {k: v}\npersistence:\n  catchup: {enabled: true, maxDuration: 24h}\n  configMap: {name: cal-state, createIfNotExist: true}")]
    public void Argo_calendar_sources_load(string fields) => Errors(fields).ShouldBeEmpty();

    [Theory]
    [InlineData("metadata: {k: v}", "spec.calendar.nightly: missing: a calendar event needs a schedule (cron, e.g. '0 2 * * *') or an interval (e.g. 1h)")]
    [InlineData("schedule: \"0 2 * *\"", "spec.calendar.nightly.schedule: '0 2 * *' has 4 fields; expected 5 (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'")]
    [InlineData("schedule: \"61 * * * *\"", "spec.calendar.nightly.schedule: '61 * * * *' is not a cron expression: 61 is higher than the maximum allowable value for the [Minute] field.")]
    [InlineData("schedule: \"@daily\"", "spec.calendar.nightly.schedule: '@daily' has 1 fields; expected 5")]
    [InlineData("schedule: \"0 0 30 2 *\"", "spec.calendar.nightly.schedule: '0 0 30 2 *' never fires (no matching date within 10 years)")]
    [InlineData("interval: often", "spec.calendar.nightly.interval: 'often' is not a duration like 10s, 5m or 1h")]
    [InlineData("interval: 0s", "spec.calendar.nightly.interval: '0s' must be positive")]
    [InlineData("interval: 1h\ntimezone: Mars/Olympus", "spec.calendar.nightly.timezone: 'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)")]
    [InlineData("interval: 1h\nexclusionDates: [\"2024-12-25\"]", "spec.calendar.nightly.exclusionDates[0]: '2024-12-25' is not an exclusion date; expected EXDATE:YYYYMMDDTHHMMSSZ (several separated by commas)")]
    [InlineData("interval: 1h\nexclusionDates: [\"EXDATE:20241225T000000Z\", \"EXDATE:20241332T000000Z\"]", "spec.calendar.nightly.exclusionDates[1]: '20241332T000000Z' in 'EXDATE:20241332T000000Z' is not a UTC date-time like 20240101T000000Z")]
    [InlineData("interval: 1h\npersistence:\n  catchup: {enabled: true, maxDuration: forever}", "spec.calendar.nightly.persistence.catchup.maxDuration: 'forever' is not a positive duration like 30m or 24h")]
    [InlineData("interval: 1h\nfilter: {expression: 'metadata.a =='}", "spec.calendar.nightly.filter.expression: not a valid expression")]
    public void Bad_fields_are_refused_with_their_path(string fields, string expected)
    {
        var errors = Errors(fields);
        errors.ShouldContain(e => e.StartsWith(expected, StringComparison.Ordinal), string.Join("\n", errors));
    }
}
