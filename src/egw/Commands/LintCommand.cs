using System.CommandLine;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Schedules;

namespace EventGateway.Cli.Commands;

internal static class LintCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "YAML or JSON manifests", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("lint", "check manifests without running them") { files };
        cmd.SetAction((r, ct) => Common.Guard(() =>
        {
            var errors = new List<ManifestError>();
            var count = 0;
            foreach (var f in r.GetValue(files)!)
            {
                try
                {
                    var docs = ManifestReader.ReadFile(f);
                    count += docs.Count;
                    foreach (var warning in CronWorkflowConversion.ConvertAll(docs)) Console.Error.WriteLine($"warning: {f}: {warning}");
                }
                catch (ManifestException e) { errors.AddRange(e.Errors); }
                catch (IOException e) { throw new CliException($"{f}: {e.Message}", ExitCodes.Invalid); }
            }
            if (errors.Count > 0) throw new ManifestException(errors);
            Console.WriteLine($"✔ {count} manifest(s) valid");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return cmd;
    }
}
