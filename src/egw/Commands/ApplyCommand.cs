using System.CommandLine;
using EventGateway.Cli.Output;
using System.Text.Json.Nodes;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Cli.Commands;

internal static class ApplyCommand
{
    public static Command Create()
    {
        var files = new Option<string[]>("--filename", "-f") { Description = "manifest file (YAML or JSON, one or many documents); repeatable", Required = true, AllowMultipleArgumentsPerToken = false };
        var server = Common.Server();
        var output = Common.Output();
        var cmd = new Command("apply", "create or update EventSources, Sensors, WorkflowTemplates, ConfigMaps and Secrets in the running service") { files, server, output };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var machine = Common.Machine(r.GetValue(output));
            var inputs = r.GetValue(files)!.Select(f => (Path: f, Text: File.Exists(f) ? File.ReadAllText(f) : throw new FileNotFoundException($"{f}: no such file"))).ToList();
            // Check every file before applying any, so a bad second file leaves the first unapplied too.
            var read = inputs.Select(i => (i.Path, Result: ManifestReader.ReadEach(i.Text, i.Path))).ToList();
            var errors = read.SelectMany(i => i.Result.Errors).ToList();
            if (errors.Count > 0) throw new ManifestException(errors);
            foreach (var (path, result) in read)
                foreach (var warning in CronWorkflowConversion.ConvertAll(result.Valid)) Console.Error.WriteLine($"warning: {path}: {warning}");
            using var api = server.Client(r);
            var applied = new JsonArray();
            foreach (var (path, text) in inputs)
                foreach (var item in (await api.ApplyAsync(text, path, ct))["items"] as JsonArray ?? [])
                    applied.Add(item!.DeepClone());
            if (machine is not null) Console.WriteLine(machine.Text(applied.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })));
            else
                foreach (var i in applied)
                    Console.WriteLine($"{i!["kind"]!.GetValue<string>().ToLowerInvariant()}/{i["name"]} applied");
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
