using EventGateway.Tests.Support;
using Shouldly;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Submission;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// Every example workflow from the user's seed documents, run as `egw run` would run it, checked against
/// the phases Argo gives (Fixtures/Seeds/expectations.yaml): workflow phase, node phases, and log lines.
/// </summary>
public sealed class SeedFixtureTests
{
    public sealed class Expectation
    {
        public string File { get; set; } = "";
        public bool Runnable { get; set; }
        public string? Reason { get; set; }
        public string? Refused { get; set; }
        public Dictionary<string, string> Parameters { get; set; } = [];
        public string? Phase { get; set; }
        public Dictionary<string, string> Nodes { get; set; } = [];
        public Dictionary<string, List<string>> Logs { get; set; } = [];
        public string? Notes { get; set; }
        public double Seconds { get; set; }
        public override string ToString() => File;
    }

    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Seeds");

    private static List<Expectation> All() => new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build()
        .Deserialize<List<Expectation>>(System.IO.File.ReadAllText(Path.Combine(Dir, "expectations.yaml")));

    public static TheoryData<string> Runnable() => [.. All().Where(e => e.Runnable && e.Refused is null && e.Phase is not null).Select(e => e.File)];
    public static TheoryData<string> Refused() => [.. All().Where(e => e.Refused is not null).Select(e => e.File)];
    public static TheoryData<string> Every() => [.. All().Select(e => e.File)];

    [Fact]
    public void Every_fixture_file_has_an_expectation()
    {
        var files = Directory.GetFiles(Dir, "*.yaml").Select(Path.GetFileName).Where(f => f != "expectations.yaml").Order();
        All().Select(e => e.File).Order().ShouldBe(files!);
    }

    [Theory]
    [MemberData(nameof(Runnable))]
    public Task Runs_to_the_phase_Argo_gives(string file) => RunsToThePhaseArgoGives(file);

    /// <summary>Runs a seed and checks it against its expectation; <paramref name="configure"/> chooses e.g. the executor.</summary>
    internal static async Task RunsToThePhaseArgoGives(string file, Action<EventGatewayOptions>? configure = null, Action<TestEngine>? check = null)
    {
        var e = All().Single(x => x.File == file);
        // Seeds with podGC would have their pods' logs removed 5s after each ends; keep them to read (GarbageCollectionTests covers podGC).
        await using var t = await TestEngine.StartAsync(configure: o => { o.Retention.PodGCDeleteDelay = TimeSpan.FromHours(1); configure?.Invoke(o); });
        check?.Invoke(t);
        var docs = ManifestReader.ReadFile(Path.Combine(Dir, file));
        await t.Engine.ApplyAsync(docs);
        var wf = docs.OfType<Workflow>().SingleOrDefault() ?? WorkflowSources.FromCron(docs.OfType<CronWorkflow>().Single());
        var done = await t.RunAsync(wf, e.Parameters.ToList());

        done.Status!.Phase.ShouldBe(e.Phase, $"{file}: {done.Status.Message}");
        done.Status.FinishedAt.ShouldNotBeNull();
        foreach (var (display, phase) in e.Nodes)
            TestEngine.Node(done, Display(display, done)).Phase.ShouldBe(phase, $"{file}: node {display}");
        foreach (var (display, lines) in e.Logs)
        {
            var log = t.Logs(done, TestEngine.Node(done, Display(display, done)));
            foreach (var line in lines) log.ShouldContain(line, Case.Sensitive, $"{file}: log of {display}");
        }
        // Nothing is left unfinished once the workflow has ended.
        done.Status.Nodes!.Values.ShouldAllBe(n => NodePhase.IsFulfilled(n.Phase));
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Invalid_examples_are_refused_before_anything_is_stored(string file)
    {
        var e = All().Single(x => x.File == file);
        await using var t = await TestEngine.StartAsync();
        var error = await Should.ThrowAsync<ManifestException>(async () =>
        {
            var docs = ManifestReader.ReadFile(Path.Combine(Dir, file));
            await t.Engine.ApplyAsync(docs);
            var wf = docs.OfType<Workflow>().SingleOrDefault() ?? WorkflowSources.FromCron(docs.OfType<CronWorkflow>().Single());
            await t.Engine.SubmitAsync(wf, e.Parameters.ToList(), file);
        });
        error.Message.ShouldContain(e.Refused!);
        (await t.Engine.Store.ListAsync<Workflow>()).ShouldBeEmpty();
    }

    [Theory]
    [MemberData(nameof(Every))]
    public void Parses_or_fails_with_a_located_reason(string file)
    {
        var e = All().Single(x => x.File == file);
        try
        {
            ManifestReader.ReadFile(Path.Combine(Dir, file)).ShouldNotBeEmpty();
        }
        catch (ManifestException ex)
        {
            // Only examples we refuse may fail to read, and every error names a field path.
            e.Refused.ShouldNotBeNull($"{file} failed to read: {ex.Message}");
            ex.Errors.ShouldAllBe(x => x.Path.Length > 0);
        }
    }

    private static string Display(string key, Workflow wf) => key.Replace("<workflow-name>", wf.Name, StringComparison.Ordinal);
}
