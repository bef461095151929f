using System.Net;
using System.Text;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace EventGateway.Tests.Events.ArgoExamples;

/// <summary>
/// Every file of Argo Events' examples/event-sources and examples/sensors (Fixtures/ArgoEvents, see its NOTICE)
/// either loads unchanged or is refused at load with a message naming the field and saying it is not supported,
/// as expectations.yaml says; a representative set of the loading ones is run end to end.
/// </summary>
public sealed class ArgoEventsExampleTests
{
    public sealed class Expectation
    {
        public string File { get; set; } = "";
        public string Outcome { get; set; } = "";
        public string? Refused { get; set; }
        public string? Works { get; set; }
        public override string ToString() => File;
    }

    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ArgoEvents");

    private static List<Expectation> All() => new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build()
        .Deserialize<List<Expectation>>(System.IO.File.ReadAllText(Path.Combine(Dir, "expectations.yaml")));

    private static IEnumerable<string> Files() =>
        Directory.GetFiles(Dir, "*.y*ml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Dir, f).Replace('\\', '/'))
            .Where(f => f != "expectations.yaml")
            .Order(StringComparer.Ordinal);

    /// <summary>Every example file in the directory, whether or not it has an expectation (the test then fails).</summary>
    public static TheoryData<string> Every() => [.. Files()];

    private static string Text(string file) => System.IO.File.ReadAllText(Path.Combine(Dir, file));

    [Fact]
    public void The_fixtures_are_the_whole_two_directories_and_every_expectation_names_one_of_them()
    {
        var files = Files().ToList();
        files.Count(f => f.StartsWith("event-sources/", StringComparison.Ordinal)).ShouldBe(31);
        files.Count(f => f.StartsWith("sensors/", StringComparison.Ordinal)).ShouldBe(79);
        All().Select(e => e.File).Where(f => !files.Contains(f)).ShouldBeEmpty("expectations for files that do not exist");
        All().GroupBy(e => e.File).Where(g => g.Count() > 1).Select(g => g.Key).ShouldBeEmpty("files with two expectations");
    }

    [Theory]
    [MemberData(nameof(Every))]
    public void Each_example_loads_or_is_refused_by_name_as_expected(string file)
    {
        var expected = All().SingleOrDefault(e => e.File == file)
            ?? throw new Xunit.Sdk.XunitException($"{file} has no expectation in Fixtures/ArgoEvents/expectations.yaml");
        switch (expected.Outcome)
        {
            case "loads":
                var docs = ManifestReader.ReadFile(Path.Combine(Dir, file));
                docs.ShouldNotBeEmpty();
                break;
            case "refused":
                expected.Refused.ShouldNotBeNullOrEmpty($"{file}: a refusal needs the expected message fragment");
                var e = Should.Throw<ManifestException>(() => ManifestReader.ReadFile(Path.Combine(Dir, file)));
                e.Message.ShouldContain(expected.Refused);
                // Every problem found names its field and says what is not supported, rather than a generic parse error.
                e.Errors.ShouldAllBe(err => err.Path.Length > 0 && err.Reason.Contains("not supported", StringComparison.Ordinal));
                break;
            default:
                throw new Xunit.Sdk.XunitException($"{file}: outcome '{expected.Outcome}' is neither loads nor refused");
        }
    }

    [Fact]
    public void Every_named_focused_check_exists()
    {
        var tests = typeof(ArgoEventsExampleTests).GetMethods().Select(m => m.Name).ToHashSet();
        All().Where(e => e.Works is not null).Select(e => e.Works!).Where(w => !tests.Contains(w)).ShouldBeEmpty();
        All().Where(e => e.Works is not null).ShouldAllBe(e => e.Outcome == "loads");
    }

    /// <summary>Starts the whole event-to-workflow path with the webhook example source on a free port.</summary>
    private static async Task<(EventTestHost Host, int Port)> StartWithWebhookSourceAsync(params string[] sensors)
    {
        var port = EventTestHost.FreePort();
        var host = await EventTestHost.StartAsync(pipeline: true);
        // Only the port differs from the example (12000 may be taken by a parallel test).
        await host.ApplyAsync(Text("event-sources/webhook.yaml").Replace("12000", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        foreach (var s in sensors) await host.ApplyAsync(Text(s));
        return (host, port);
    }

    private static async Task PostAsync(int port, string json)
    {
        using var http = new HttpClient();
        using var resp = await http.PostAsync($"http://127.0.0.1:{port}/example", new StringContent(json, Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK, await resp.Content.ReadAsStringAsync());
    }

    private static string Output(EventTestHost host, Workflow wf) =>
        host.StepLog(wf, wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod));

    [Fact]
    public async Task Webhook_example_and_its_sensor_run_a_workflow_with_the_posted_body()
    {
        var (host, port) = await StartWithWebhookSourceAsync("sensors/webhook.yaml");
        await using (host)
        {
            await PostAsync(port, """{"message":"this is my first webhook"}""");
            var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
            wf.Name.ShouldStartWith("webhook-");
            wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
            Output(host, wf).ShouldContain("""{"message":"this is my first webhook"}""");
        }
    }

    [Fact]
    public async Task The_data_filter_example_fires_for_hello_and_filters_the_rest()
    {
        var (host, port) = await StartWithWebhookSourceAsync("sensors/filter-with-data-simple-1.yaml");
        await using (host)
        {
            await PostAsync(port, """{"message":"goodbye"}""");
            await PostAsync(port, """{"message":"hey"}""");
            // Events are taken in order: once the second one's workflow exists, the first was decided (filtered).
            var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
            wf.Name.ShouldStartWith("data-workflow-");
            Output(host, wf).Trim().ShouldBe("hey");
            (await host.Store.ListAsync<Workflow>()).Count.ShouldBe(1);
        }
    }

    [Fact]
    public async Task The_argoWorkflow_submit_example_creates_the_named_workflow()
    {
        var (host, port) = await StartWithWebhookSourceAsync("sensors/special-workflow-trigger-shortened.yaml");
        await using (host)
        {
            await PostAsync(port, """{"greeting":"hi"}""");
            var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
            wf.Name.ShouldBe("special-trigger");
            wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
            Output(host, wf).ShouldContain("""{"greeting":"hi"}""");
        }
    }

    [Fact]
    public async Task The_transform_example_rewrites_the_event_before_the_trigger()
    {
        var (host, port) = await StartWithWebhookSourceAsync("sensors/transform.yaml");
        await using (host)
        {
            await PostAsync(port, """{"message":"original"}""");
            var wf = (await host.WaitWorkflowsCompletedAsync(1)).ShouldHaveSingleItem();
            // The Lua transform set body.message before the parameter read body.
            Output(host, wf).ShouldContain("\"message\":\"updated\"");
        }
    }
}
