using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace EventGateway.Tests.Workflows.Examples;

/// <summary>The S3 server every example shares, as Argo's e2e environment shares its MinIO.</summary>
public sealed class ArgoExampleEnvironment : IAsyncLifetime
{
    public const string Bucket = "my-bucket";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-argo-examples-");

    public S3Server S3 { get; private set; } = null!;

    /// <summary>The service-wide default repository (`egw run --artifact-repository FILE`), where Argo's e2e has its controller ConfigMap's.</summary>
    public ArtifactRepository DefaultRepository { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        S3 = await S3Server.StartAsync(Bucket);
        var file = Path.Combine(_dir.FullName, "artifact-repository.yaml");
        await File.WriteAllTextAsync(file, $"archiveLogs: true\ns3: {Location}\n");
        DefaultRepository = EventGateway.Workflows.Artifacts.ArtifactRepositories.ReadFile(file);
    }

    public async Task DisposeAsync()
    {
        await S3.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    /// <summary>The S3 location of Argo's quick-start repositories (bucket my-bucket, Secret my-minio-cred), on this server.</summary>
    private string Location =>
        "{bucket: " + Bucket + ", endpoint: \"" + S3.Endpoint + "\", insecure: true, accessKeySecret: {name: my-minio-cred, key: accesskey}, secretKeySecret: {name: my-minio-cred, key: secretkey}}";

    /// <summary>What Argo's quick-start puts in the namespace besides the examples: the MinIO credentials and the artifact-repositories ConfigMap.</summary>
    public string Namespace() => $$"""
        apiVersion: v1
        kind: Secret
        metadata: {name: my-minio-cred}
        stringData: {accesskey: {{S3Server.AccessKey}}, secretkey: {{S3Server.SecretKey}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: artifact-repositories
          annotations: {workflows.argoproj.io/default-artifact-repository: default-v1}
        data:
          default-v1: |
            archiveLogs: true
            s3: {{Location}}
          my-key: |
            archiveLogs: true
            s3: {{Location}}
          empty: ""
        """;
}

/// <summary>
/// Argo Workflows' own examples (argoproj/argo-workflows examples/ at f016ad89, Fixtures/ArgoWorkflows), run as `egw run`
/// runs them and as Argo's e2e suite (test/e2e/examples_test.go) runs them: first every ConfigMap, PersistentVolumeClaim,
/// WorkflowTemplate and ClusterWorkflowTemplate of the examples is applied, then each Workflow is submitted and must
/// reach its phase (Succeeded: the e2e suite runs only the examples without a workflows.argoproj.io/no-test label),
/// with an S3 server as the default artifact repository where Argo's e2e has MinIO. expectations.yaml says, for every
/// file of Argo's examples directory, the phase, that it is a supporting document, or why it is left out.
/// </summary>
public sealed class ArgoWorkflowsExampleTests(ArgoExampleEnvironment env, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ArgoExampleEnvironment>
{
    public sealed class Expectation
    {
        public string File { get; set; } = "";
        /// <summary>The phase Argo's e2e suite expects of every Workflow in the file.</summary>
        public string? Phase { get; set; }
        /// <summary>Applied before every run (ConfigMap, PersistentVolumeClaim, WorkflowTemplate, ClusterWorkflowTemplate), as Argo's e2e does.</summary>
        public bool Support { get; set; }
        /// <summary>Not copied here, and why.</summary>
        public string? Excluded { get; set; }
        /// <summary>Runnable, but not passing yet because of the gap named: skipped, and counted as not passing.</summary>
        public string? Pending { get; set; }
        /// <summary>Runnable only in its image (the container executor, issue 13): skipped, and counted apart.</summary>
        public string? Container { get; set; }
        /// <summary>A supporting document refused at load with this text (a field that is not implemented).</summary>
        public string? Refused { get; set; }
        /// <summary>The example's steps fail at random and its retryStrategy makes success likely, not certain: a run that
        /// ends Failed passes only if every attempt the strategy allows was made and failed.</summary>
        public string? Chance { get; set; }
        public string? Notes { get; set; }
        public override string ToString() => File;
    }

    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoWorkflows");
    private static readonly string[] NotExamples = ["expectations.yaml", "NOTICE"];
    /// <summary>The kinds Argo's e2e applies from every example before running any.</summary>
    private static readonly string[] SupportingKinds = ["ConfigMap", "PersistentVolumeClaim", "WorkflowTemplate", "ClusterWorkflowTemplate"];

    private static List<Expectation> All() => new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build()
        .Deserialize<List<Expectation>>(System.IO.File.ReadAllText(Path.Combine(Dir, "expectations.yaml")));

    public static TheoryData<string> Passing() => [.. All().Where(e => e.Phase is not null && e.Pending is null && e.Container is null).Select(e => e.File)];
    public static TheoryData<string> NotPassing() => [.. All().Where(e => e.Phase is not null && (e.Pending ?? e.Container) is not null).Select(e => e.File)];
    /// <summary>The examples marked `container:` whose images are argosay:v2 (an argosay-like image is made in the container tests).</summary>
    public static TheoryData<string> ArgosayInContainers() => [.. All().Where(e => e.Container?.Contains("argosay:v2", StringComparison.Ordinal) == true).Select(e => e.File)];
    public static TheoryData<string> Supporting() => [.. All().Where(e => e.Support).Select(e => e.File)];

    private static List<string> FixtureFiles() =>
        [.. Directory.GetFiles(Dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Dir, f)).Where(f => !NotExamples.Contains(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public void Every_fixture_file_has_an_expectation_and_every_left_out_example_a_reason()
    {
        var all = All();
        all.Select(e => e.File).ShouldBeUnique();
        all.Where(e => e.Excluded is null).Select(e => e.File).Order(StringComparer.Ordinal).ShouldBe(FixtureFiles());
        foreach (var e in all)
        {
            // Exactly one of: a phase to reach, a supporting document, a reason to leave it out.
            new[] { e.Phase is not null, e.Support, e.Excluded is not null }.Count(x => x).ShouldBe(1, $"{e.File}: set one of phase, support, excluded");
            (e.Excluded ?? "x").Trim().ShouldNotBeEmpty($"{e.File}: an excluded example needs its reason");
            if (e.Pending is not null || e.Container is not null) e.Phase.ShouldNotBeNull($"{e.File}: only a runnable example can be pending");
            (e.Pending is not null && e.Container is not null).ShouldBeFalse($"{e.File}: pending or container, not both");
            if (e.Refused is not null) e.Support.ShouldBeTrue($"{e.File}: refused applies to supporting documents");
        }
    }

    [Fact]
    public void At_least_95_percent_of_the_runnable_examples_reach_argos_phase()
    {
        // Runnable with the local executor: everything Argo's e2e runs that needs neither a cluster nor an image's own
        // programs (those wait for the container executor, issue 13, and are reported, not counted).
        var all = All().Where(e => e.Phase is not null).ToList();
        var runnable = all.Where(e => e.Container is null).ToList();
        var passing = runnable.Count(e => e.Pending is null);
        // Every passing entry is run by Runs_as_Argos_e2e_runs_it; pending ones are the gaps still open.
        output.WriteLine($"{passing} of {runnable.Count} runnable with the local executor pass; {all.Count - runnable.Count} more need their images (container executor)");
        (passing / (double)runnable.Count).ShouldBeGreaterThanOrEqualTo(0.95,
            $"{passing} of {runnable.Count} pass; pending: {string.Join(", ", runnable.Where(e => e.Pending is not null).Select(e => $"{e.File} ({e.Pending})"))}");
    }

    [Theory]
    [MemberData(nameof(Supporting))]
    public void Supporting_documents_load_or_are_refused_by_name(string file)
    {
        var e = All().Single(x => x.File == file);
        if (e.Refused is null)
        {
            ManifestReader.ReadFile(Path.Combine(Dir, file)).Select(r => r.Kind).ShouldAllBe(k => SupportingKinds.Contains(k));
            return;
        }
        var error = Should.Throw<ManifestException>(() => ManifestReader.ReadFile(Path.Combine(Dir, file)));
        error.Message.ShouldContain(e.Refused);
        error.Errors.ShouldAllBe(x => x.Path.Length > 0);
    }

    [Theory]
    [MemberData(nameof(Passing))]
    public Task Runs_as_Argos_e2e_runs_it(string file) => RunsAsArgosE2eRunsIt(env, file);

    /// <summary>Runs an example's workflows to the phase its expectation names; <paramref name="configure"/> chooses e.g. the executor.</summary>
    internal static async Task RunsAsArgosE2eRunsIt(ArgoExampleEnvironment env, string file, Action<EventGatewayOptions>? configure = null)
    {
        var e = All().Single(x => x.File == file);
        var workflows = ManifestReader.ReadFile(Path.Combine(Dir, file)).OfType<Workflow>().ToList();
        workflows.ShouldNotBeEmpty();

        await using var t = await TestEngine.StartAsync(configure: o => { o.ArtifactRepository = env.DefaultRepository; configure?.Invoke(o); });
        await t.Engine.ApplyAsync([.. ManifestReader.Read(env.Namespace(), "namespace.yaml"), .. SupportingDocuments()]);
        foreach (var wf in workflows)
        {
            // TestEngine.RunAsync bounds the wait (TestEngine.Patience) and then fails with every node's phase.
            var done = await t.RunAsync(wf, []);
            if (e.Chance is not null && done.Status!.Phase == WorkflowPhase.Failed) ShouldHaveExhaustedEveryRetry(done, file);
            else done.Status!.Phase.ShouldBe(e.Phase, $"{file}: {done.Status.Message}; nodes: " +
                string.Join("; ", done.Status.Nodes!.Values.Where(n => n.Phase != NodePhase.Succeeded).Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
            done.Status.FinishedAt.ShouldNotBeNull();
            // Nothing is left unfinished once the workflow has ended.
            done.Status.Nodes!.Values.ShouldAllBe(n => NodePhase.IsFulfilled(n.Phase));
        }
    }

    /// <summary>A random example may fail (retry-container: 2/3 per attempt, 11 attempts, about 1 run in 90), but only
    /// honestly: every retry node made limit + 1 attempts and each of them failed.</summary>
    private static void ShouldHaveExhaustedEveryRetry(Workflow done, string file)
    {
        var nodes = done.Status!.Nodes!;
        var retries = nodes.Values.Where(n => n.Type == NodeType.Retry).ToList();
        retries.ShouldNotBeEmpty($"{file}: failed without a retry node");
        foreach (var retry in retries)
        {
            var limit = int.Parse(done.Spec.Templates!.Single(x => x.Name == retry.TemplateName).RetryStrategy!.Limit!, System.Globalization.CultureInfo.InvariantCulture);
            retry.Phase.ShouldBe(NodePhase.Failed, $"{file}: {retry.DisplayName}");
            retry.Children.ShouldNotBeNull().Count.ShouldBe(limit + 1, $"{file}: {retry.DisplayName} gave up early");
            retry.Children.ShouldAllBe(c => nodes[c].Phase == NodePhase.Failed, $"{file}: {retry.DisplayName} has an attempt that did not fail");
        }
    }

    /// <summary>An example that cannot pass here still never loops or hangs: it is refused at load, or it ends.</summary>
    [Theory]
    [MemberData(nameof(NotPassing))]
    public async Task Ends_or_is_refused_where_it_cannot_pass(string file)
    {
        IReadOnlyList<Resource> docs;
        try { docs = ManifestReader.ReadFile(Path.Combine(Dir, file)); }
        catch (ManifestException refused)
        {
            refused.Errors.ShouldAllBe(x => x.Path.Length > 0 && x.Reason.Length > 0);
            return;
        }
        await using var t = await TestEngine.StartAsync(configure: o => o.ArtifactRepository = env.DefaultRepository);
        await t.Engine.ApplyAsync([.. ManifestReader.Read(env.Namespace(), "namespace.yaml"), .. SupportingDocuments()]);
        foreach (var wf in docs.OfType<Workflow>())
        {
            // A step may wait for what its image would have served (sidecar-nginx's main polls nginx forever, as it
            // would in Argo if nginx never came up): the workflow's own deadline must still end it.
            wf.Spec.ActiveDeadlineSeconds ??= 10;
            var done = await t.RunAsync(wf, []); // bounded by TestEngine.Patience
            done.Status!.FinishedAt.ShouldNotBeNull();
            done.Status.Nodes!.Values.ShouldAllBe(n => NodePhase.IsFulfilled(n.Phase));
        }
    }

    private static IEnumerable<Resource> SupportingDocuments() =>
        All().Where(e => e.Support && e.Refused is null).SelectMany(e => ManifestReader.ReadFile(Path.Combine(Dir, e.File)));
}
