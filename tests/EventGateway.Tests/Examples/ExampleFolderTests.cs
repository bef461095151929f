using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Examples;

/// <summary>
/// Each folder of examples/ as its README tells a newcomer to use it: a real `egw serve --manifests FOLDER`,
/// the folder's own script sending the event, and a workflow that succeeds. Ports and endpoints are the only
/// thing changed in the copies the tests serve, so the examples can run beside other tests.
/// </summary>
public sealed class ExampleFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-example-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Examples => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", "..", "..", "examples"));

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    /// <summary>A copy of the example folder with <paramref name="replace"/> applied to its YAML.</summary>
    private string Copy(string example, params (string From, string To)[] replace)
    {
        var to = Directory.CreateDirectory(Path.Combine(_dir, example)).FullName;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Examples, example)))
        {
            var text = File.ReadAllText(file);
            if (file.EndsWith(".yaml", StringComparison.Ordinal))
                foreach (var (from, with) in replace)
                    text = text.Replace(from, with, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(to, Path.GetFileName(file)), text);
        }
        return to;
    }

    private static async Task<string> Bash(string script, Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync(new CancellationTokenSource(TestEngine.Patience).Token);
        p.ExitCode.ShouldBe(0, $"{Path.GetFileName(script)}: {stderr}");
        return await stdout;
    }

    /// <summary>The one workflow the event made, once it succeeded.</summary>
    private static Task<JsonNode> SucceededWorkflow(ServeProcess serve) => Eventually.Get(async () =>
    {
        using var http = serve.CreateClient();
        var list = JsonNode.Parse(await http.GetStringAsync("api/v1/workflows/-"))!["items"]!.AsArray();
        return list.Count == 1 && list[0]!["status"]?["phase"]?.GetValue<string>() == "Succeeded" ? list[0] : null;
    }, "the example's workflow to succeed");

    private static async Task<string> Logs(ServeProcess serve, JsonNode wf)
    {
        using var http = serve.CreateClient();
        var lines = (await http.GetStringAsync($"api/v1/workflows/{wf["metadata"]!["namespace"]}/{wf["metadata"]!["name"]}/log"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!["result"]?["content"]?.GetValue<string>());
        return string.Join('\n', lines);
    }

    [Fact]
    public async Task Github_ci_runs_the_pipeline_for_a_signed_push()
    {
        var port = ServeProcess.FreePort();
        var folder = Copy("github-ci", ("port: \"12000\"", $"port: \"{port}\""));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", folder]);

        var answer = await Eventually.Get(async () =>
        {
            try { return await Bash(Path.Combine(folder, "send-push.sh"), new() { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) }, "c0ffee"); }
            catch (ShouldAssertException) { return null; } // the listener is still starting
        }, "the push to be accepted");
        answer.ShouldContain("success");

        var wf = await SucceededWorkflow(serve);
        wf["spec"]!["arguments"]!["parameters"]!.AsArray().Select(p => p!["value"]!.GetValue<string>()).ShouldBe(["acme/api", "c0ffee"]);
        var logs = await Logs(serve, wf);
        logs.ShouldContain("checkout acme/api at c0ffee");
        logs.ShouldContain("test c0ffee: ok");
    }

    [Fact]
    public async Task S3_processing_runs_once_for_an_uploaded_object()
    {
        await using var s3 = await S3Server.StartAsync("uploads");
        var folder = Copy("s3-processing", ("endpoint: localhost:4568", $"endpoint: {s3.Endpoint}"), ("s3-poll-interval: 2s", "s3-poll-interval: 1s"));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", folder]);
        // Objects there at the first poll are the bucket's past; wait for that poll so the upload is new.
        await Eventually.Get(async () =>
        {
            using var http = serve.CreateClient();
            var es = JsonNode.Parse(await http.GetStringAsync("api/v1/event-sources/default/uploads"))!;
            return es.ToJsonString().Contains("\"Listening\"", StringComparison.OrdinalIgnoreCase) ? es : null;
        }, "the bucket to be polled");

        (await Bash(Path.Combine(folder, "upload.sh"), new() { ["S3"] = $"http://{s3.Endpoint}" }, "q3.csv")).ShouldContain("uploaded incoming/q3.csv");

        var wf = await SucceededWorkflow(serve);
        (await Logs(serve, wf)).ShouldContain("processing s3://uploads/incoming%2Fq3.csv (22 bytes)");
    }

    [Fact]
    public async Task Kafka_batch_fans_out_one_step_per_item_of_a_message()
    {
        using var kafka = KafkaMockCluster.Start();
        kafka.CreateTopic("batches");
        var folder = Copy("kafka-batch", ("url: localhost:9092", $"url: {kafka.Bootstraps}"));
        await using var serve = await ServeProcess.StartAsync(extra: ["--manifests", folder]);

        (await Bash(Path.Combine(folder, "send.sh"), new() { ["BROKER"] = kafka.Bootstraps }, "nightly", "a", "b", "c")).ShouldContain("sent nightly with 3 items");

        var wf = await SucceededWorkflow(serve);
        wf["status"]!["nodes"]!.AsObject().Count(n => n.Value!["templateName"]?.GetValue<string>() == "work").ShouldBe(3);
        var logs = await Logs(serve, wf);
        foreach (var item in new[] { "a", "b", "c" }) logs.ShouldContain($"processing {item} of batch nightly");
        logs.ShouldContain("batch nightly: done");
    }
}
