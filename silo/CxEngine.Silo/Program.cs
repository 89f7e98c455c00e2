using CxEngine.Silo.Hosting;

var app = CxEngineHost.Build(args);
await app.RunAsync();
