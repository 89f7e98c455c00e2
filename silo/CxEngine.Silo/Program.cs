using CxEngine.Silo.Hosting;
using CxEngine.Silo.Tools;

// cxengine-silo apply-schema [settings]: apply the storage schema of the configured provider and exit.
if (args is ["apply-schema", ..])
{
    return await SchemaCommand.RunAsync(args[1..]);
}

// cxengine-silo calibrate --events FILE.jsonl --out TIER.json: fit a tier to historical outcomes (SCORING.md "Calibrating a tier").
if (args is ["calibrate", ..])
{
    return await CalibrateCommand.RunAsync(args[1..]);
}

// cxengine-silo import FILE / rescore / export scores|actions|events: clients of a running engine, over gRPC.
if (args is ["import", ..])
{
    return await CxEngine.Silo.Tools.ImportCommand.RunAsync(args[1..]);
}

if (args is ["rescore", ..])
{
    return await CxEngine.Silo.Tools.RescoreCommand.RunAsync(args[1..]);
}

if (args is ["export", ..])
{
    return await CxEngine.Silo.Tools.ExportCommand.RunAsync(args[1..]);
}

var app = CxEngineHost.Build(args);
await app.RunAsync();
return 0;
