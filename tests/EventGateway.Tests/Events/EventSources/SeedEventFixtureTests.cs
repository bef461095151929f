using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Events.EventSources;

/// <summary>The seed documents' EventSource and Sensor YAML, verbatim, load and run.</summary>
public sealed class SeedEventFixtureTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "Events", name));

    [Theory]
    [InlineData("s1-github-webhook.yaml", "EventSource/github-webhook,Sensor/github-push-sensor")]
    [InlineData("s3-github-sensor.yaml", "Sensor/github-sensor")]
    public void Seed_manifests_load_unchanged(string file, string expected)
    {
        var docs = ManifestReader.Read(Fixture(file), file);
        string.Join(",", docs.Select(d => $"{d.Kind}/{d.Name}")).ShouldBe(expected);
    }

    [Fact]
    public async Task The_seed_github_webhook_source_listens_on_12000_and_logs_what_its_sensor_reads()
    {
        await using var host = await EventTestHost.StartAsync();
        var docs = await host.ApplyAsync(Fixture("s1-github-webhook.yaml"));
        var sensor = docs.OfType<Sensor>().Single();
        sensor.Spec.Dependencies!.Single().EventSourceName.ShouldBe("github-webhook");

        using var http = new HttpClient();
        using var resp = await http.PostAsync("http://127.0.0.1:12000/push",
            new StringContent("""{"ref":"refs/heads/main","repository":{"clone_url":"https://github.com/example/app.git"}}""", Encoding.UTF8, "application/json"));
        resp.StatusCode.ShouldBe(HttpStatusCode.OK);

        var e = (await host.Log.ReadAsync(0, 10)).ShouldHaveSingleItem();
        (e.Namespace, e.Event.Source, e.Event.Subject).ShouldBe(("argo-events", "github-webhook", "push"));
        // The Sensor's "{{.Input.body.ref}}" and the primer's dataKey body.repository.clone_url resolve against this shape.
        var data = JsonNode.Parse(e.Event.Data.Span)!;
        data["body"]!["ref"]!.GetValue<string>().ShouldBe("refs/heads/main");
        data["body"]!["repository"]!["clone_url"]!.GetValue<string>().ShouldBe("https://github.com/example/app.git");
    }
}
