using EventGateway.Tests.Cli;
using EventGateway.Tests.Security;
using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Retention;

/// <summary>A service left running with its defaults does not grow without bound: TTL, cap and archive TTL, on real processes and files.</summary>
public sealed class DefaultRetentionTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    private static string Workflow(string name, string ttl = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {name: {{name}}}
        spec:
          entrypoint: main
          {{ttl}}
          templates:
          - name: main
            container: {image: busybox, command: [sh, -c, "echo {{name}}"]}
        """;

    private static Task<List<string>> Live(TestEngine t) => Live(t.Engine.Store);

    private static async Task<List<string>> Live(IResourceStore store) =>
        [.. (await store.ListAsync<Workflow>()).Select(w => w.Name).Order(StringComparer.Ordinal)];

    private static Task<List<string>> Archived(TestEngine t) => Archived(t.Engine.Archive!);

    private static async Task<List<string>> Archived(IWorkflowArchive archive) =>
        [.. (await archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 100, null))).Items.Select(w => w.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task With_default_settings_a_finished_workflow_is_deleted_a_week_after_it_finished_and_stays_in_the_archive()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var wf = await t.RunYamlAsync(Workflow("weekly"));
        await Eventually.Get(async () => await t.Engine.Archive!.ContainsAsync(wf.Metadata.Uid!) ? "" : null, "archived when it finished");
        var pods = Path.Combine(t.DataDir, "pods", "default", "weekly");
        Directory.Exists(pods).ShouldBeTrue();

        var expiry = wf.Status!.FinishedAt!.Value + TimeSpan.FromDays(7);
        time.Advance(expiry - Tick - time.GetUtcNow()); // hourly archive sweeps run on the way; the next due action is the expiry
        await Eventually.Get(() => Task.FromResult(t.Engine.Reaper.NextDue == expiry ? "" : null), $"the expiry due at {expiry:O}");
        (await Live(t)).ShouldBe(["weekly"], "kept until a week has passed");
        Directory.Exists(pods).ShouldBeTrue();

        time.Advance(Tick);
        await Eventually.Get(async () => (await Live(t)).Count == 0 && !Directory.Exists(pods) ? "" : null, "deleted with its pods after a week");
        (await Archived(t)).ShouldBe(["weekly"], "the archive keeps its history");
    }

    [Fact]
    public async Task A_workflows_own_ttl_strategy_wins_over_the_default()
    {
        var time = new FakeTimeProvider(Epoch);
        await using var t = await TestEngine.StartAsync(time: time);
        var wf = await t.RunYamlAsync(Workflow("own", "ttlStrategy: {secondsAfterSuccess: 30}"));
        var expiry = wf.Status!.FinishedAt!.Value + TimeSpan.FromSeconds(30);
        await Eventually.Get(() => Task.FromResult(t.Engine.Reaper.NextDue == expiry ? "" : null), "its own expiry, 30s after it finished");
        time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.Get(async () => (await Live(t)).Count == 0 ? "" : null, "deleted after its own 30s");
    }

    [Fact]
    public async Task Beyond_the_cap_the_earliest_finished_workflows_are_deleted_first_and_the_archive_still_lists_them()
    {
        var time = new FakeTimeProvider(Epoch);
        var dataDir = Directory.CreateTempSubdirectory("egw-test-").FullName;
        // Names against their finishing order, so the earliest finished is not the first by name; each keeps itself a year.
        string[] byFinish = ["c-first", "b-second", "a-third"];
        await using (var first = new EmbeddedEngine(new EventGatewayOptions { DataDir = dataDir, Retention = { MaxFinishedWorkflows = 2 } }, null, time))
        {
            await first.StartAsync();
            foreach (var name in byFinish)
            {
                await first.RunAsync(ManifestReader.Read(Workflow(name, "ttlStrategy: {secondsAfterCompletion: 31536000}")).OfType<Workflow>().Single());
                time.Advance(TimeSpan.FromSeconds(1));
            }
            await Eventually.Get(async () => await Live(first.Store) is ["a-third", "b-second"] ? "" : null, "the two latest finished kept");
            await Eventually.Get(() => Task.FromResult(Directory.Exists(Path.Combine(dataDir, "pods", "default", "c-first")) ? null : ""), "its pods gone with it");
            Directory.Exists(Path.Combine(dataDir, "pods", "default", "b-second")).ShouldBeTrue();
            (await Archived(first.Archive!)).ShouldBe(["a-third", "b-second", "c-first"], "the archive lists all three");
        }

        // A lower cap after a restart applies to what the store already holds.
        await using var again = await TestEngine.StartAsync(time: time, dataDir: dataDir, configure: o => o.Retention.MaxFinishedWorkflows = 1);
        await Eventually.Get(async () => await Live(again.Engine.Store) is ["a-third"] ? "" : null, "only the latest kept under the lower cap");
        (await Archived(again.Engine.Archive!)).ShouldBe(["a-third", "b-second", "c-first"]);
    }

    [Fact]
    public async Task Serve_states_its_retention_defaults_in_help()
    {
        var (code, help, _) = await CliTests.Egw("serve", "--help");
        code.ShouldBe(0);
        var lines = help.Split('\n');
        lines.Single(l => l.TrimStart().StartsWith("--workflow-ttl", StringComparison.Ordinal)).ShouldContain("[default: 168h]");
        lines.Single(l => l.TrimStart().StartsWith("--max-finished-workflows", StringComparison.Ordinal)).ShouldContain("[default: 10000]");
        lines.Single(l => l.TrimStart().StartsWith("--archive-ttl", StringComparison.Ordinal)).ShouldContain("default 2160h (90 days)");
    }

    [Fact]
    public async Task Serve_warns_at_every_start_when_retention_is_turned_off()
    {
        var dataDir = Directory.CreateTempSubdirectory("egw-unbounded-").FullName;
        try
        {
            var bounded = await ApiServeSecurityTests.StderrUntilServing("--data-dir", dataDir);
            bounded.ShouldNotContain("WARNING");
            foreach (var start in new[] { 1, 2 })
            {
                var stderr = await ApiServeSecurityTests.StderrUntilServing("--data-dir", dataDir, "--workflow-ttl", "none", "--max-finished-workflows", "none", "--archive-ttl", "none");
                stderr.ShouldContain("WARNING: --workflow-ttl none: finished workflows without a ttlStrategy are never deleted; the data directory grows without bound", customMessage: $"start {start}");
                stderr.ShouldContain("WARNING: --max-finished-workflows none:", customMessage: $"start {start}");
                stderr.ShouldContain("WARNING: --archive-ttl none: archived workflows are never dropped; archive.db grows without bound", customMessage: $"start {start}");
            }
        }
        finally { Directory.Delete(dataDir, recursive: true); }
    }

    [Theory]
    [InlineData(new[] { "--max-finished-workflows", "0" }, "--max-finished-workflows '0' is not a whole number of at least 1 or none")]
    [InlineData(new[] { "--max-finished-workflows", "lots" }, "--max-finished-workflows 'lots' is not a whole number of at least 1 or none")]
    [InlineData(new[] { "--workflow-ttl", "forever" }, "--workflow-ttl 'forever' is not a duration (e.g. 30s, 24h) or none")]
    [InlineData(new[] { "--archive-ttl", "soon" }, "--archive-ttl 'soon' is not a duration (e.g. 30s, 24h) or none")]
    [InlineData(new[] { "--no-archive", "--archive-ttl", "720h" }, "--archive-ttl needs the archive: drop --no-archive")]
    public async Task Serve_refuses_bad_retention_values_in_one_line_before_starting(string[] flags, string message)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "egw-flags-" + Guid.NewGuid().ToString("N"));
        var (code, _, stderr) = await CliTests.Egw(["serve", "--port", "0", "--data-dir", dataDir, .. flags]);
        code.ShouldBe(2);
        stderr.Trim().ShouldBe($"error: {message}");
        Directory.Exists(dataDir).ShouldBeFalse("nothing was made");
    }
}
