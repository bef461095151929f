using System.CommandLine;
using EventGateway.Cli.Commands;

var root = new RootCommand("egw — EventGateway: turn events into Argo Workflows and run them, on one machine");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(SubmitCommand.Create());
root.Subcommands.Add(ListCommand.Create());
root.Subcommands.Add(GetCommand.Create());
root.Subcommands.Add(LogsCommand.Create());
root.Subcommands.Add(DeleteCommand.Create());
root.Subcommands.Add(LintCommand.Create());
root.Subcommands.Add(ApplyCommand.Create());
root.Subcommands.Add(EventSourceCommand.Create());
root.Subcommands.Add(EventsCommand.Create());
root.Subcommands.Add(SensorCommand.Create());
root.Subcommands.Add(DlqCommand.Create());
root.Subcommands.Add(CronCommand.Create());
root.Subcommands.Add(TemplateCommand.Create());
root.Subcommands.Add(ClusterTemplateCommand.Create());
root.Subcommands.Add(ArchiveCommand.Create());
root.Subcommands.Add(StoreCommand.Create());
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(CompletionCommand.Create());
foreach (var operation in WorkflowControlCommands.Create()) root.Subcommands.Add(operation);
// "@latest" names a workflow, not a response file.
return await root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null }).InvokeAsync();
