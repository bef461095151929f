using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// The tester's attacks on bounded input and work, against a real `egw serve` or the real engine: each is refused with a
/// one-line reason, quickly, with bounded memory, and leaves nothing behind.
/// </summary>
public sealed class BoundedInputTests
{
    private static string Workflow(string name, string steps) => $$$"""
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "{{{name}}}"},
         "spec": {"entrypoint": "main", "templates": [
           {"name": "main", "steps": [[{{{steps}}}]]},
           {"name": "echo", "inputs": {"parameters": [{"name": "i", "value": "x"}]}, "container": {"image": "busybox", "command": ["echo", "{{inputs.parameters.i}}"]}}]}}
        """;

    private static async Task<(HttpStatusCode Status, string Message)> Answer(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        body.ShouldNotContain("   at ", customMessage: "no stack trace in an answer");
        body.ShouldNotContain("\n");
        using var doc = JsonDocument.Parse(body);
        return (r.StatusCode, doc.RootElement.GetProperty("message").GetString()!);
    }

    /// <summary>The tester's document: one 1 MB anchored scalar and a million aliases of it, 4 MB in all.</summary>
    private static string AliasBomb()
    {
        var b = new StringBuilder(4_100_000);
        b.Append("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: &a ").Append('x', 1_000_000).Append("\n  b: [");
        for (var i = 0; i < 1_000_000; i++) b.Append(i == 0 ? "*a" : ",*a");
        return b.Append("]\n").ToString();
    }

    [Fact]
    public void A_million_aliases_are_refused_at_the_limit_before_they_are_expanded()
    {
        var bomb = AliasBomb();
        Encoding.UTF8.GetByteCount(bomb).ShouldBeLessThan(YamlToJson.MaxManifestBytes);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read(bomb, "bomb.yaml"));
        (GC.GetAllocatedBytesForCurrentThread() - allocated).ShouldBeLessThan(200L * 1024 * 1024, "the expansion (1 TB) was never built");
        e.Errors.ShouldHaveSingleItem().ToString().ShouldBe($"bomb.yaml:6: document 1: data.b[16]: aliases expand to more than {YamlToJson.MaxAliasBytes} bytes in one document (the alias expansion limit)");

        // Small aliases hit the count instead.
        var many = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many}\ndata:\n  a: &a x\n  b: [" + string.Join(",", Enumerable.Repeat("*a", YamlToJson.MaxAliases + 1)) + "]\n";
        Should.Throw<ManifestException>(() => ManifestReader.Read(many, "many.yaml")).Errors.ShouldHaveSingleItem().Reason
            .ShouldBe($"data.b[{YamlToJson.MaxAliases}]: more than {YamlToJson.MaxAliases} alias uses in one document (the alias limit)");
        // At the limit it is read (as a list of strings, which a ConfigMap's data is not: the limit passed, the schema refuses).
        var fine = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\ndata:\n  a: &a x\n  b: [" + string.Join(",", Enumerable.Repeat("*a", YamlToJson.MaxAliases)) + "]\n";
        Should.Throw<ManifestException>(() => ManifestReader.Read(fine, "fine.yaml")).Errors.ShouldHaveSingleItem().Reason.ShouldNotContain("limit");
    }

    [Fact]
    public void Nesting_past_the_depth_limit_is_refused_with_its_path_and_a_manifest_over_the_size_limit_unread()
    {
        var deep = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var e = Should.Throw<ManifestException>(() => ManifestReader.Read(deep, "deep.yaml")).Errors.ShouldHaveSingleItem();
        e.Reason.ShouldEndWith($"nested deeper than {YamlToJson.MaxDepth} levels (the nesting limit)");
        e.Line.ShouldBe(4);

        var big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {a: \"" + new string('x', YamlToJson.MaxManifestBytes) + "\"}\n";
        Should.Throw<ManifestException>(() => ManifestReader.Read(big, "big.yaml")).Errors.ShouldHaveSingleItem().Reason
            .ShouldBe($"manifest is larger than {YamlToJson.MaxManifestBytes} bytes (the limit of one manifest)");
    }

    [Fact]
    public async Task The_alias_bomb_and_the_deep_document_sent_to_apply_are_400s_and_the_service_stays_small()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var watch = Stopwatch.StartNew();
        var (status, message) = await Answer(await http.PostAsync("api/v1/apply", new StringContent(AliasBomb(), Encoding.UTF8, "application/yaml")));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldContain("the alias expansion limit");
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5), "refused at the limit, not after expanding");
        serve.ResidentBytes().ShouldBeLessThan(400L * 1024 * 1024);

        (status, message) = await Answer(await http.PostAsync("api/v1/apply", new StringContent(new string('[', 100_000) + new string(']', 100_000), Encoding.UTF8, "application/yaml")));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldContain($"nested deeper than {YamlToJson.MaxDepth} levels");
        message.ShouldNotContain("\n");

        (await http.GetStringAsync("api/v1/workflow-templates/default")).ShouldContain("\"items\":[]");
        (await http.GetAsync("healthz")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_body_over_the_cap_is_413_with_or_without_a_length_and_bad_JSON_is_400()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var big = new string(' ', YamlToJson.MaxManifestBytes + 1);
        var (status, message) = await Answer(await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(big)));
        status.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        message.ShouldBe($"request body of {YamlToJson.MaxManifestBytes + 1} bytes is larger than the limit of {YamlToJson.MaxManifestBytes} bytes");

        // Chunked: no Content-Length, so Kestrel cuts it off while it is read.
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/apply") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        (status, message) = await Answer(await http.SendAsync(request));
        status.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        message.ShouldBe($"request body is larger than the limit of {YamlToJson.MaxManifestBytes} bytes");

        (status, message) = await Answer(await http.PostAsync("api/v1/workflows/default", ServeProcess.Json("{\"workflow\": {")));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldStartWith("request body is not JSON");
        (await http.GetStringAsync("api/v1/workflows/default")).ShouldContain("\"items\":[]");
    }

    [Theory]
    [InlineData("""{"name": "s", "template": "echo", "withSequence": {"count": "10000000"}}""", "withSequence", "10000000 items exceed the limit of 10000 loop items (--max-loop-items)")]
    [InlineData("""{"name": "s", "template": "echo", "withSequence": {"end": "2147483647"}}""", "withSequence", "2147483648 items exceed the limit of 10000 loop items (--max-loop-items)")]
    [InlineData("""{"name": "s", "template": "echo", "withSequence": {"start": "-9223372036854775808", "end": "9223372036854775807"}}""", "withSequence", "9223372036854775807 items exceed the limit of 10000 loop items (--max-loop-items)")]
    [InlineData("""{"name": "s", "template": "echo", "withSequence": {"start": "9223372036854775807", "count": "2"}}""", "withSequence", "start 9223372036854775807 plus count 2 is past the largest integer")]
    [InlineData("""{"name": "s", "template": "echo", "withSequence": {"count": "99999999999999999999"}}""", "withSequence", "count: '99999999999999999999' is not an integer")]
    public async Task A_literal_loop_over_the_cap_is_refused_at_submit_with_its_field_path(string step, string field, string reason)
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var (status, message) = await Answer(await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(Workflow("huge", step))));
        status.ShouldBe(HttpStatusCode.BadRequest);
        message.ShouldBe($"request: document 1 (Workflow/huge): spec.templates[0].steps[0][0].{field}: {reason}");
        (await http.GetAsync("api/v1/workflows/default/huge")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_literal_withItems_list_over_a_lowered_cap_is_refused_and_one_at_the_cap_is_taken()
    {
        await using var t = await TestEngine.StartAsync(configure: o => o.Limits = o.Limits with { MaxLoopItems = 3 });
        var over = ManifestReader.Read(Workflow("over", """{"name": "s", "template": "echo", "withItems": [1, 2, 3, 4]}""")).OfType<Workflow>().Single();
        (await Should.ThrowAsync<ManifestException>(() => t.Engine.SubmitAsync(over))).Errors.ShouldHaveSingleItem().ToString()
            .ShouldBe("<input>: document 1 (Workflow/over): spec.templates[0].steps[0][0].withItems: 4 items exceed the limit of 3 loop items (--max-loop-items)");
        (await t.Engine.Store.ListAsync<Workflow>("default")).ShouldBeEmpty();

        var wf = await t.RunYamlAsync(Workflow("at", """{"name": "s", "template": "echo", "withItems": [1, 2, 3]}"""));
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
    }

    private const string Templated = """
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "NAME"},
         "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "n", "value": "1"}]}, "templates": [
           {"name": "main", "steps": [[LOOP]]},
           {"name": "echo", "container": {"image": "busybox", "command": ["true"]}}]}}
        """;

    [Fact]
    public async Task A_templated_count_over_the_cap_ends_that_node_in_Error_and_a_small_workflow_beside_it_succeeds_promptly()
    {
        await using var t = await TestEngine.StartAsync();
        var huge = ManifestReader.Read(Templated.Replace("NAME", "huge").Replace("LOOP", """{"name": "s", "template": "echo", "withSequence": {"count": "{{workflow.parameters.n}}"}}""")).OfType<Workflow>().Single();
        var endless = ManifestReader.Read(Templated.Replace("NAME", "endless").Replace("LOOP", """{"name": "s", "template": "echo", "withSequence": {"start": "{{workflow.parameters.n}}", "end": "2147483647"}}""")).OfType<Workflow>().Single();
        var param = ManifestReader.Read(Templated.Replace("NAME", "param").Replace("LOOP", """{"name": "s", "template": "echo", "withParam": "{{workflow.parameters.n}}"}""")).OfType<Workflow>().Single();
        var small = ManifestReader.Read(Templated.Replace("NAME", "small").Replace("LOOP", """{"name": "s", "template": "echo", "withItems": [1, 2]}""")).OfType<Workflow>().Single();

        var watch = Stopwatch.StartNew();
        var runs = new[]
        {
            t.RunAsync(huge, [KeyValuePair.Create("n", "10000000")]),
            t.RunAsync(endless, [KeyValuePair.Create("n", "0")]),
            t.RunAsync(param, [KeyValuePair.Create("n", "[" + string.Join(",", Enumerable.Range(0, 200_000)) + "]")]),
            t.RunAsync(small, []),
        };
        var done = await Task.WhenAll(runs);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(60), "nothing stalls the reconcile loop");

        done[0].Status!.Phase.ShouldNotBe(WorkflowPhase.Succeeded);
        TestEngine.Node(done[0], "s").Phase.ShouldBe(NodePhase.Error);
        TestEngine.Node(done[0], "s").Message.ShouldBe("withSequence: 10000000 loop items exceed the limit of 10000 (--max-loop-items)");
        done[0].Status!.Nodes!.Count.ShouldBeLessThan(5);
        TestEngine.Node(done[1], "s").Message.ShouldBe("withSequence: 2147483648 loop items exceed the limit of 10000 (--max-loop-items)");
        TestEngine.Node(done[2], "s").Message.ShouldBe("withParam: 200000 loop items exceed the limit of 10000 (--max-loop-items)");
        done[3].Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done[3].Status!.Message);
    }

    [Fact]
    public async Task A_loop_that_would_pass_the_node_cap_ends_in_Error_naming_the_limit()
    {
        await using var t = await TestEngine.StartAsync(configure: o => o.Limits = o.Limits with { MaxWorkflowNodes = 10 });
        var wf = await t.RunYamlAsync(Templated.Replace("NAME", "wide").Replace("LOOP", """{"name": "s", "template": "echo", "withSequence": {"count": "{{workflow.parameters.n}}"}}"""), "n=20");
        TestEngine.Node(wf, "s").Phase.ShouldBe(NodePhase.Error);
        TestEngine.Node(wf, "s").Message.ShouldBe("20 loop items would take the workflow past the limit of 10 nodes (--max-workflow-nodes)");
        wf.Status!.Nodes!.Count.ShouldBeLessThanOrEqualTo(10);

        var fits = await t.RunYamlAsync(Templated.Replace("NAME", "fits").Replace("LOOP", """{"name": "s", "template": "echo", "withSequence": {"count": "{{workflow.parameters.n}}", "start": "-2", "format": "i%02d"}}"""), "n=3");
        fits.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, fits.Status.Message);
        fits.Status.Nodes!.Values.Select(n => n.DisplayName).ShouldContain("s(2:i00)");
    }

    [Fact]
    public async Task SIGTERM_stops_the_service_within_10_seconds_while_a_huge_workflow_is_being_refused()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var huge = Templated.Replace("NAME", "huge").Replace("LOOP", """{"name": "s", "template": "echo", "withSequence": {"count": "{{workflow.parameters.n}}"}}""");
        var posts = Enumerable.Range(0, 5).Select(i => http.PostAsync("api/v1/workflows/default",
            ServeProcess.Json($$"""{"workflow": {{huge.Replace("\"huge\"", $"\"huge-{i}\"")}}, "parameters": ["n=2000000000"]}"""))).ToList();
        foreach (var p in posts) (await p).StatusCode.ShouldBe(HttpStatusCode.OK);

        var took = await serve.TerminateAsync(TimeSpan.FromSeconds(10));
        took.ShouldNotBeNull("egw serve did not exit within 10 s of SIGTERM");
    }

    [Fact]
    public async Task A_template_that_calls_itself_ends_in_Error_at_the_recursion_limit_instead_of_overflowing_the_stack()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: rec}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: again, template: main}
            """);
        wf.Status!.Phase.ShouldNotBe(WorkflowPhase.Succeeded);
        var deepest = wf.Status.Nodes!.Values.Where(n => n.Message?.StartsWith("maximum recursion", StringComparison.Ordinal) == true).ShouldHaveSingleItem();
        deepest.Phase.ShouldBe(NodePhase.Error);
        deepest.Message.ShouldBe($"maximum recursion depth exceeded: more than {EventGateway.Workflows.Controller.WorkflowOperator.MaxCallDepth} nested template calls");
    }

    [Fact]
    public async Task A_branching_recursion_stops_at_the_node_cap_in_one_bounded_pass()
    {
        await using var t = await TestEngine.StartAsync(configure: o => o.Limits = o.Limits with { MaxWorkflowNodes = 200 });
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: fork}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: left, template: main}
                  - {name: right, template: main}
            """);
        wf.Status!.Phase.ShouldNotBe(WorkflowPhase.Succeeded);
        wf.Status.Message.ShouldBe("workflow reached the limit of 200 nodes (--max-workflow-nodes)");
        wf.Status.Nodes!.Count.ShouldBeLessThanOrEqualTo(200);
    }
}
