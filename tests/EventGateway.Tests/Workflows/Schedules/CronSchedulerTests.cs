using EventGateway.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Schedules;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Workflows.Schedules;

/// <summary>
/// The CronWorkflow scheduler over a real SQLite store on a fake clock. The workflows it creates are not run here:
/// a test ends them by writing their phase, as the controller would.
/// </summary>
public sealed class CronSchedulerTests : IDisposable
{
    private static readonly DateTimeOffset Start = DateTimeOffset.Parse("2026-01-05T09:59:30Z");
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-cron-");
    private readonly FakeTimeProvider _time = new(Start);
    private readonly SqliteResourceStore _store;
    private readonly LocalProcessExecutor _executor;

    public CronSchedulerTests()
    {
        _time.SetLocalTimeZone(TimeZoneInfo.Utc);
        _store = new SqliteResourceStore(Path.Combine(_dir.FullName, "egw.db"), _time);
        _executor = new LocalProcessExecutor(_dir.FullName, 4, Sandbox.Detect(false), _time, NullLogger<LocalProcessExecutor>.Instance);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Delete(recursive: true);
    }

    /// <summary>A scheduler as a fresh process would have it: nothing in memory, everything from the store.</summary>
    private CronScheduler NewScheduler() => new(_store, new WorkflowSubmitter(_store), new WorkflowControls(_store, _time),
        new WorkflowDeleter(_store, _executor, new LocalArtifactRepository(_dir.FullName)), _time, NullLogger<CronScheduler>.Instance);

    private async Task<CronWorkflow> ApplyAsync(string specLines, string name = "hourly")
    {
        var cron = ManifestReader.Read($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: CronWorkflow
            metadata:
              name: {{name}}
              labels: {team: data}
            spec:
            {{specLines}}
              workflowSpec:
                entrypoint: main
                templates:
                - name: main
                  container: {image: alpine, command: [echo, hi]}
            """).OfType<CronWorkflow>().Single();
        return await _store.ApplyAsync(cron);
    }

    private async Task<List<Workflow>> ChildrenAsync(string cron = "hourly") =>
        (await _store.ListAsync<Workflow>("default")).Where(w => w.Metadata.Labels?.GetValueOrDefault(WorkflowSources.CronWorkflowLabel) == cron)
            .OrderBy(w => w.Name, StringComparer.Ordinal).ToList();

    private async Task<CronWorkflowStatus> StatusAsync(string cron = "hourly") => (await _store.GetAsync<CronWorkflow>("default", cron))!.Status!;

    private async Task FinishAsync(string name, string phase)
    {
        var wf = (await _store.GetAsync<Workflow>("default", name))!;
        wf.Status = new WorkflowStatus { Phase = phase, FinishedAt = _time.GetUtcNow() };
        await _store.UpdateAsync(wf);
    }

    private static string NameAt(string cron, string instant) => $"{cron}-{DateTimeOffset.Parse(instant).ToUnixTimeSeconds()}";

    /// <summary>Moves the clock to <paramref name="instant"/> and lets the scheduler make a pass, as its timer would.</summary>
    private async Task At(CronScheduler scheduler, string instant, string cron = "hourly")
    {
        _time.SetUtcNow(DateTimeOffset.Parse(instant));
        await scheduler.ReconcileAsync("default", cron);
    }

    [Fact]
    public async Task A_tick_creates_one_workflow_named_after_the_tick_with_the_cron_labels()
    {
        await ApplyAsync("""  schedules: ["0 * * * *"]""");
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T09:59:30Z");
        (await ChildrenAsync()).ShouldBeEmpty();

        await At(scheduler, "2026-01-05T10:00:00Z");
        await scheduler.ReconcileAsync("default", "hourly");
        var wf = (await ChildrenAsync()).ShouldHaveSingleItem();
        wf.Name.ShouldBe(NameAt("hourly", "2026-01-05T10:00:00Z"));
        wf.Metadata.Annotations![CronScheduler.ScheduledTimeAnnotation].ShouldBe("2026-01-05T10:00:00Z");
        wf.Spec.Entrypoint.ShouldBe("main");
        var status = await StatusAsync();
        status.LastScheduledTime.ShouldBe(DateTimeOffset.Parse("2026-01-05T10:00:00Z"));
        status.Active!.Single()!["name"]!.GetValue<string>().ShouldBe(wf.Name);
        status.Phase.ShouldBe("Active");
    }

    [Fact]
    public async Task Allow_runs_a_tick_while_the_previous_run_is_still_active()
    {
        await ApplyAsync("""  schedules: ["0 * * * *"]""");
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        await At(scheduler, "2026-01-05T11:00:00Z");
        (await ChildrenAsync()).Count.ShouldBe(2);
        (await StatusAsync()).Active!.Count.ShouldBe(2);
    }

    [Fact]
    public async Task Forbid_skips_a_tick_while_a_run_is_active_and_never_runs_it_later()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              concurrencyPolicy: Forbid
            """);
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        await At(scheduler, "2026-01-05T11:00:00Z");
        (await ChildrenAsync()).Count.ShouldBe(1);
        var status = await StatusAsync();
        status.LastSkippedTime.ShouldBe(DateTimeOffset.Parse("2026-01-05T11:00:00Z"));
        status.Conditions!.Single(c => c.Type == "Skipped").Message!.ShouldContain("concurrencyPolicy Forbid");

        // The run ends: the skipped tick stays skipped; the next one runs.
        await FinishAsync(NameAt("hourly", "2026-01-05T10:00:00Z"), WorkflowPhase.Succeeded);
        await At(scheduler, "2026-01-05T11:10:00Z");
        (await ChildrenAsync()).Count.ShouldBe(1);
        await At(scheduler, "2026-01-05T12:00:00Z");
        (await ChildrenAsync()).Select(w => w.Name).ShouldBe([NameAt("hourly", "2026-01-05T10:00:00Z"), NameAt("hourly", "2026-01-05T12:00:00Z")]);
        (await StatusAsync()).Succeeded.ShouldBe(1);
    }

    [Fact]
    public async Task Replace_terminates_the_active_run_then_starts_the_new_one()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              concurrencyPolicy: Replace
            """);
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        await At(scheduler, "2026-01-05T11:00:00Z");
        var children = await ChildrenAsync();
        children.Count.ShouldBe(2);
        children.Single(w => w.Name == NameAt("hourly", "2026-01-05T10:00:00Z")).Spec.Shutdown.ShouldBe(WorkflowControls.ShutdownTerminate);
        children.Single(w => w.Name == NameAt("hourly", "2026-01-05T11:00:00Z")).Spec.Shutdown.ShouldBeNull();

        // The terminated run stays active until the controller has ended it, then counts as failed.
        (await StatusAsync()).Active!.Count.ShouldBe(2);
        await FinishAsync(NameAt("hourly", "2026-01-05T10:00:00Z"), WorkflowPhase.Failed);
        await At(scheduler, "2026-01-05T11:00:05Z");
        var status = await StatusAsync();
        status.Active!.Single()!["name"]!.GetValue<string>().ShouldBe(NameAt("hourly", "2026-01-05T11:00:00Z"));
        status.Failed.ShouldBe(1);
    }

    [Fact]
    public async Task A_tick_found_later_than_the_starting_deadline_is_skipped_and_recorded()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              startingDeadlineSeconds: 30
            """);
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T09:59:30Z");
        await At(scheduler, "2026-01-05T10:00:45Z");
        (await ChildrenAsync()).ShouldBeEmpty();
        var status = await StatusAsync();
        status.LastSkippedTime.ShouldBe(DateTimeOffset.Parse("2026-01-05T10:00:00Z"));
        status.Conditions!.Single(c => c.Type == "Skipped").Message!.ShouldContain("found 45s late, more than startingDeadlineSeconds (30)");

        await At(scheduler, "2026-01-05T11:00:20Z");
        (await ChildrenAsync()).Single().Name.ShouldBe(NameAt("hourly", "2026-01-05T11:00:00Z"));
    }

    [Fact]
    public async Task After_downtime_only_the_latest_missed_tick_runs_and_only_within_the_deadline()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              startingDeadlineSeconds: 600
            """);
        await At(NewScheduler(), "2026-01-05T10:00:00Z");
        (await ChildrenAsync()).Count.ShouldBe(1);

        // Down for three days; back 5 minutes after a tick: that one tick runs, none of the 70 before it.
        await At(NewScheduler(), "2026-01-08T09:05:00Z");
        (await ChildrenAsync()).Select(w => w.Name).ShouldBe([NameAt("hourly", "2026-01-05T10:00:00Z"), NameAt("hourly", "2026-01-08T09:00:00Z")]);

        // Down again; back 20 minutes after a tick: beyond the deadline, nothing runs and the skip is recorded.
        await At(NewScheduler(), "2026-01-08T12:20:00Z");
        (await ChildrenAsync()).Count.ShouldBe(2);
        (await StatusAsync()).LastSkippedTime.ShouldBe(DateTimeOffset.Parse("2026-01-08T12:00:00Z"));
    }

    [Fact]
    public async Task Without_a_starting_deadline_a_missed_tick_never_runs()
    {
        await ApplyAsync("""  schedules: ["0 * * * *"]""");
        await At(NewScheduler(), "2026-01-05T09:59:30Z");
        await At(NewScheduler(), "2026-01-05T10:00:01Z"); // a new process: the tick came due while it was not running
        (await ChildrenAsync()).ShouldBeEmpty();
        (await StatusAsync()).Conditions!.Single(c => c.Type == "Skipped").Message!.ShouldContain("without startingDeadlineSeconds a missed tick is not run");
    }

    [Fact]
    public async Task A_restart_after_a_crash_between_create_and_status_update_does_not_fire_the_tick_again()
    {
        var cron = await ApplyAsync("""
              schedules: ["0 * * * *"]
              startingDeadlineSeconds: 300
            """);
        // The crashed process created the tick's workflow and died before saving the CronWorkflow's status.
        _time.SetUtcNow(DateTimeOffset.Parse("2026-01-05T10:00:00Z"));
        await new WorkflowSubmitter(_store).SubmitAsync(CronScheduler.ForTick(cron, DateTimeOffset.Parse("2026-01-05T10:00:00Z")));

        await At(NewScheduler(), "2026-01-05T10:01:00Z");
        await At(NewScheduler(), "2026-01-05T10:02:00Z");
        (await ChildrenAsync()).Single().Name.ShouldBe(NameAt("hourly", "2026-01-05T10:00:00Z"));
        (await StatusAsync()).LastScheduledTime.ShouldBe(DateTimeOffset.Parse("2026-01-05T10:00:00Z"));
    }

    [Fact]
    public async Task History_limits_keep_the_newest_finished_runs_and_count_each_once()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              successfulJobsHistoryLimit: 2
            """);
        var scheduler = NewScheduler();
        var phases = new[] { WorkflowPhase.Succeeded, WorkflowPhase.Failed, WorkflowPhase.Succeeded, WorkflowPhase.Error, WorkflowPhase.Succeeded };
        for (var h = 0; h < phases.Length; h++)
        {
            var tick = $"2026-01-05T{10 + h}:00:00Z";
            await At(scheduler, tick);
            _time.Advance(TimeSpan.FromMinutes(1));
            await FinishAsync(NameAt("hourly", tick), phases[h]);
        }
        await At(scheduler, "2026-01-05T14:30:00Z");

        // Succeeded at 10, 12, 14 -> keep 12 and 14; failed at 11 and error at 13 -> the default keeps only 13.
        (await ChildrenAsync()).Select(w => w.Name).ShouldBe([NameAt("hourly", "2026-01-05T12:00:00Z"), NameAt("hourly", "2026-01-05T13:00:00Z"), NameAt("hourly", "2026-01-05T14:00:00Z")]);
        var status = await StatusAsync();
        (status.Succeeded, status.Failed).ShouldBe((3L, 2L));
        status.Active.ShouldBeNull();
    }

    [Fact]
    public async Task Suspend_stops_ticks_and_resume_does_not_run_the_ones_missed_meanwhile()
    {
        var cron = await ApplyAsync("""  schedules: ["0 * * * *"]""");
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T09:59:30Z");
        cron = (await _store.GetAsync<CronWorkflow>("default", "hourly"))!;
        cron.Spec.Suspend = true;
        await _store.UpdateAsync(cron);
        await At(scheduler, "2026-01-05T10:00:00Z");
        await At(scheduler, "2026-01-05T10:30:00Z");
        (await ChildrenAsync()).ShouldBeEmpty();

        cron = (await _store.GetAsync<CronWorkflow>("default", "hourly"))!;
        cron.Spec.Suspend = null;
        await _store.UpdateAsync(cron);
        await At(scheduler, "2026-01-05T10:30:00Z");
        (await ChildrenAsync()).ShouldBeEmpty();
        await At(scheduler, "2026-01-05T11:00:00Z");
        (await ChildrenAsync()).Single().Name.ShouldBe(NameAt("hourly", "2026-01-05T11:00:00Z"));
    }

    [Fact]
    public async Task A_false_when_skips_the_tick()
    {
        await ApplyAsync("""
              schedules: ["0 * * * *"]
              when: "{{cronworkflow.labels.team}} == ops"
            """);
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        (await ChildrenAsync()).ShouldBeEmpty();
        (await StatusAsync()).Conditions!.Single(c => c.Type == "Skipped").Message!.ShouldContain("when '{{cronworkflow.labels.team}} == ops' is false");
    }

    [Fact]
    public async Task An_invalid_stored_schedule_is_a_spec_error_and_schedules_nothing()
    {
        var cron = await ApplyAsync("""  schedules: ["0 * * * *"]""");
        cron.Spec.Schedules = ["not a cron"];
        await _store.ApplyAsync(cron); // past the validator, as a store written by something else could be
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        (await ChildrenAsync()).ShouldBeEmpty();
        (await StatusAsync()).Conditions!.Single(c => c.Type == "SpecError").Message!.ShouldContain("spec.schedules[0]: 'not a cron' has 3 fields");
    }

    [Fact]
    public async Task The_singular_schedule_runs_and_carries_a_spec_warning_naming_schedules()
    {
        await ApplyAsync("""  schedule: "0 * * * *" """);
        var scheduler = NewScheduler();
        await At(scheduler, "2026-01-05T10:00:00Z");
        (await ChildrenAsync()).ShouldHaveSingleItem();
        (await StatusAsync()).Conditions!.Single(c => c.Type == "SpecWarning").Message!.ShouldContain("converted to spec.schedules");
    }

    [Fact]
    public async Task The_hosted_scheduler_follows_its_timer_across_a_DST_change()
    {
        await ApplyAsync("""
              schedules: ["30 2 * * *"]
              timezone: America/New_York
            """, "nightly");
        _time.SetUtcNow(DateTimeOffset.Parse("2026-03-07T12:00:00-05:00"));
        var scheduler = NewScheduler();
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.Get(async () => (await _store.GetAsync<CronWorkflow>("default", "nightly"))?.Status, "the first pass");
            // Step the clock an hour at a time (the scheduler's longest wait) through the spring-forward night to the next day.
            while (_time.GetUtcNow() < DateTimeOffset.Parse("2026-03-09T03:00:00-04:00"))
            {
                _time.Advance(TimeSpan.FromHours(1));
                var now = _time.GetUtcNow();
                if (now >= DateTimeOffset.Parse("2026-03-09T02:30:00-04:00"))
                    await Eventually.Get(async () => (await ChildrenAsync("nightly")).FirstOrDefault(), "the 9 March tick");
            }
            (await ChildrenAsync("nightly")).Select(w => w.Name).ShouldBe([NameAt("nightly", "2026-03-09T02:30:00-04:00")]);
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }
}
