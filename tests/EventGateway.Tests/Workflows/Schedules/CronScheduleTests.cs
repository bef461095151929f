using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Tests.Workflows.Schedules;

/// <summary>When a CronWorkflow ticks, as Argo's robfig/cron decides it, including across DST.</summary>
public sealed class CronScheduleTests
{
    private static CronSchedule Parse(string timezone, params string[] schedules)
    {
        var errors = new List<string>();
        var s = CronSchedule.TryParse(new CronWorkflowSpec { Schedules = [.. schedules], Timezone = timezone }, TimeZoneInfo.Utc, (p, r) => errors.Add($"{p}: {r}"));
        errors.ShouldBeEmpty();
        return s!;
    }

    private static List<DateTimeOffset> Ticks(CronSchedule s, DateTimeOffset after, int count)
    {
        var ticks = new List<DateTimeOffset>();
        for (var t = s.Next(after); ticks.Count < count; t = s.Next(t)) ticks.Add(t);
        return ticks;
    }

    [Fact]
    public void Spring_forward_skips_a_time_in_the_gap_that_day_as_robfig_does()
    {
        // 2026-03-08 02:00 EST jumps to 03:00 EDT in New York: 02:30 does not exist that day.
        var s = Parse("America/New_York", "30 2 * * *");
        Ticks(s, DateTimeOffset.Parse("2026-03-07T12:00:00-05:00"), 2).ShouldBe(
        [
            DateTimeOffset.Parse("2026-03-09T02:30:00-04:00"),
            DateTimeOffset.Parse("2026-03-10T02:30:00-04:00"),
        ]);
        // A time after the gap runs that day, in the new offset.
        Parse("America/New_York", "30 3 * * *").Next(DateTimeOffset.Parse("2026-03-07T12:00:00-05:00"))
            .ShouldBe(DateTimeOffset.Parse("2026-03-08T03:30:00-04:00"));
    }

    [Fact]
    public void Fall_back_runs_a_time_after_the_overlap_once_and_a_time_inside_it_twice()
    {
        // 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:00-01:59 happens twice, 02:30 once.
        var after = DateTimeOffset.Parse("2026-10-31T12:00:00-04:00");
        Ticks(Parse("America/New_York", "30 2 * * *"), after, 2).ShouldBe(
        [
            DateTimeOffset.Parse("2026-11-01T02:30:00-05:00"),
            DateTimeOffset.Parse("2026-11-02T02:30:00-05:00"),
        ]);
        Ticks(Parse("America/New_York", "30 1 * * *"), after, 3).ShouldBe(
        [
            DateTimeOffset.Parse("2026-11-01T01:30:00-04:00"),
            DateTimeOffset.Parse("2026-11-01T01:30:00-05:00"),
            DateTimeOffset.Parse("2026-11-02T01:30:00-05:00"),
        ]);
    }

    [Fact]
    public void Ticks_inside_the_overlap_come_in_instant_order()
    {
        var s = Parse("America/New_York", "*/30 * * * *");
        Ticks(s, DateTimeOffset.Parse("2026-11-01T05:00:00Z"), 4).ShouldBe(
        [
            DateTimeOffset.Parse("2026-11-01T05:30:00Z"), // 01:30 EDT
            DateTimeOffset.Parse("2026-11-01T06:00:00Z"), // 01:00 EST
            DateTimeOffset.Parse("2026-11-01T06:30:00Z"), // 01:30 EST
            DateTimeOffset.Parse("2026-11-01T07:00:00Z"), // 02:00 EST
        ]);
    }

    [Fact]
    public void Several_schedules_tick_at_the_union_of_their_times()
    {
        var s = Parse("UTC", "0 1 * * *", "30 0 * * *");
        Ticks(s, DateTimeOffset.Parse("2026-01-01T00:00:00Z"), 3).ShouldBe(
        [
            DateTimeOffset.Parse("2026-01-01T00:30:00Z"),
            DateTimeOffset.Parse("2026-01-01T01:00:00Z"),
            DateTimeOffset.Parse("2026-01-02T00:30:00Z"),
        ]);
    }

    [Fact]
    public void Latest_finds_only_the_most_recent_tick_of_a_long_gap()
    {
        var s = Parse("UTC", "* * * * *");
        s.Latest(DateTimeOffset.Parse("2025-01-01T00:00:00Z"), DateTimeOffset.Parse("2026-01-01T10:00:30Z"))
            .ShouldBe(DateTimeOffset.Parse("2026-01-01T10:00:00Z"));
        Parse("UTC", "0 0 1 1 *").Latest(DateTimeOffset.Parse("2020-06-01T00:00:00Z"), DateTimeOffset.Parse("2026-06-01T00:00:00Z"))
            .ShouldBe(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        s.Latest(DateTimeOffset.Parse("2026-01-01T10:00:00Z"), DateTimeOffset.Parse("2026-01-01T10:00:59Z")).ShouldBeNull();
    }

    [Fact]
    public void Invalid_schedule_fields_are_reported_with_their_paths()
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: bad}
            spec:
              schedules: ["0 2 * * *", "61 * * * *", "0 2 * *"]
              timezone: Mars/Olympus
              concurrencyPolicy: Never
              startingDeadlineSeconds: -5
              successfulJobsHistoryLimit: -1
              workflowSpec:
                entrypoint: main
                templates: [{name: main, container: {image: alpine}}]
            """, "bad.yaml"));
        e.Errors.Select(x => x.Path).ShouldBe(["spec.schedules[1]", "spec.schedules[2]", "spec.timezone", "spec.concurrencyPolicy",
            "spec.startingDeadlineSeconds", "spec.successfulJobsHistoryLimit"]);
        e.Errors[0].Reason.ShouldContain("'61 * * * *' is not a cron expression");
        e.Errors[1].Reason.ShouldContain("has 4 fields; expected 5");
        e.Errors[2].Reason.ShouldContain("'Mars/Olympus' is not a known IANA time zone");
        e.Errors[3].Reason.ShouldBe("'Never' is not one of Allow, Forbid, Replace");
        e.Errors.ShouldAllBe(x => x.Kind == "CronWorkflow" && x.Name == "bad");
    }

    [Fact]
    public void Both_schedule_and_schedules_is_refused()
    {
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: both}
            spec:
              schedule: "0 1 * * *"
              schedules: ["0 2 * * *"]
              workflowSpec:
                entrypoint: main
                templates: [{name: main, container: {image: alpine}}]
            """));
        e.Errors.Single().Path.ShouldBe("spec.schedule");
        e.Errors.Single().Reason.ShouldContain("not both");
    }

    [Fact]
    public void The_singular_schedule_is_converted_to_schedules_with_a_warning_naming_schedules()
    {
        // The primer seed's pre-4.0 form.
        var cron = ManifestReader.Read("""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata: {name: nightly-etl, namespace: argo}
            spec:
              schedule: "0 2 * * *"    # 2am UTC daily
              timezone: "UTC"
              concurrencyPolicy: Forbid
              workflowSpec:
                entrypoint: main
                templates: [{name: main, container: {image: alpine}}]
            """).OfType<CronWorkflow>().Single();
        cron.Spec.Schedule.ShouldBe("0 2 * * *");
        var warning = CronWorkflowConversion.Convert(cron);
        warning.ShouldNotBeNull();
        warning.ShouldContain("CronWorkflow/nightly-etl");
        warning.ShouldContain("spec.schedules: [\"0 2 * * *\"]");
        warning.ShouldContain("`schedules:`");
        cron.Spec.Schedules.ShouldBe(["0 2 * * *"]);
        cron.Spec.Schedule.ShouldBeNull();
        CronWorkflowConversion.Convert(cron).ShouldBeNull();
    }
}
