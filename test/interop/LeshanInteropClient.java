// Thin launcher over the Eclipse Leshan LwM2M client library (leshan-client-cf, resolved from
// Maven Central by deploy/local/maven/leshan-client/pom.xml). Everything on the wire (Register,
// Update, TLV / SenML / LwM2M JSON encoding, Discover, Observe) is Leshan's own code; this file
// only wires a NoSec Security + Server + Device instance and a bounded run time. Leshan's
// library Device serves resources 0, 1, 2, 11, 14, 15, 16; like Leshan's own demo client
// (MyDevice) we add Battery Level (9), Memory Free (10) and a ticking Current Time (13), and
// Reboot (4) restarts the client (the library answers 5.00): it registers again.
//
// Run as a single-file Java program (Java 11+, no javac step):
//   java -cp "$HOME/.cache/dmp/leshan-client-2.0.0-M15/lib/*" test/interop/LeshanInteropClient.java \
//     -u coap://127.0.0.1:5683 -n dmp-interop-leshan -l 20 -t 60
//
// Options: -u server URL (coap:// only), -n endpoint name, -l lifetime seconds (default 300),
// -t run time seconds before deregistering and exiting (default 60), -b local bind address
// (default 127.0.0.1), -bs bootstrap server URL (coap:// only): instead of a server account the
// client starts with only a NoSec bootstrap Security instance (/0/0) and an empty Server object,
// sends Bootstrap-Request to that URL and then registers to whatever server the bootstrap server
// wrote (-u and -l are then ignored). -o <objectId>[,<objectId>…] (opt-in, repeatable) also
// serves those objects with Leshan's generic SimpleInstanceEnabler (instance 0 at start; the
// server may Create, Write, Write-Partial, Read and Delete instances), their model read by
// Leshan's ObjectLoader from the OMA DDF file <dir>/<objectId>.xml, <dir> given by -m (default
// libs/lwm2m/models, the DDF files this repository ships; relative to the working directory),
// e.g. -o 3303 for IPSO Temperature. The process never contacts any other host.
import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.eclipse.leshan.client.LeshanClient;
import org.eclipse.leshan.client.LeshanClientBuilder;
import org.eclipse.leshan.client.californium.endpoint.CaliforniumClientEndpointsProvider;
import org.eclipse.leshan.client.object.Device;
import org.eclipse.leshan.client.object.Security;
import org.eclipse.leshan.client.object.Server;
import org.eclipse.leshan.client.resource.ObjectsInitializer;
import org.eclipse.leshan.client.resource.SimpleInstanceEnabler;
import org.eclipse.leshan.client.servers.LwM2mServer;
import org.eclipse.leshan.core.LwM2mId;
import org.eclipse.leshan.core.model.ObjectLoader;
import org.eclipse.leshan.core.model.ObjectModel;
import org.eclipse.leshan.core.model.StaticModel;
import org.eclipse.leshan.core.request.BindingMode;
import org.eclipse.leshan.core.request.argument.Arguments;
import org.eclipse.leshan.core.response.ExecuteResponse;
import org.eclipse.leshan.core.response.ReadResponse;

public class LeshanInteropClient {
    /** Leshan's Device plus the resources the demo client also exposes (fixed values except time). */
    public static class InteropDevice extends Device {
        public InteropDevice() {
            super();
        }

        public InteropDevice(String manufacturer, String model, String serial) {
            super(manufacturer, model, serial);
        }

        @Override
        public ReadResponse read(LwM2mServer server, int resourceId) {
            switch (resourceId) {
                case 9: return ReadResponse.success(9, 87L);
                case 10: return ReadResponse.success(10, 15360L);
                case 13: return ReadResponse.success(13, new Date());
                default: return super.read(server, resourceId);
            }
        }

        /** What Reboot (/3/0/4) does; set once the client exists. */
        volatile Runnable onReboot;

        @Override
        public ExecuteResponse execute(LwM2mServer server, int resourceId, Arguments arguments) {
            // The library Device answers Reboot with 5.00 "not implemented"; like a real device we
            // acknowledge, then restart the client: it registers again (a new Register, not an Update).
            if (resourceId == 4 && onReboot != null) {
                Runnable r = onReboot;
                new Thread(() -> {
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                    r.run();
                }, "reboot").start();
                return ExecuteResponse.success();
            }
            return super.execute(server, resourceId, arguments);
        }

        @Override
        public List<Integer> getAvailableResourceIds(ObjectModel model) {
            List<Integer> ids = new ArrayList<>(super.getAvailableResourceIds(model));
            for (int id : new int[] { 9, 10, 13 }) if (!ids.contains(id)) ids.add(id);
            ids.sort(null);
            return ids;
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "coap://127.0.0.1:5683";
        String endpoint = "dmp-interop-leshan";
        long lifetime = 300;
        long runSeconds = 60;
        String bind = "127.0.0.1";
        String bootstrapUrl = null;
        List<Integer> extraObjects = new ArrayList<>();
        String modelsDir = "libs/lwm2m/models";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: LeshanInteropClient [-u coap://host:port] [-n endpoint] [-l lifetime] [-t seconds] [-b bindAddress] [-bs coap://host:port] [-o objectId[,objectId…]] [-m ddfDir]");
                return;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "-u": url = v; break;
                case "-n": endpoint = v; break;
                case "-l": lifetime = Long.parseLong(v); break;
                case "-t": runSeconds = Long.parseLong(v); break;
                case "-b": bind = v; break;
                case "-bs": bootstrapUrl = v; break;
                case "-o": for (String id : v.split(",")) extraObjects.add(Integer.parseInt(id.trim())); break;
                case "-m": modelsDir = v; break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (!url.startsWith("coap://")) throw new IllegalArgumentException("only coap:// (NoSec) URLs are supported");
        if (bootstrapUrl != null && !bootstrapUrl.startsWith("coap://")) throw new IllegalArgumentException("only coap:// (NoSec) bootstrap URLs are supported");

        ObjectsInitializer init;
        if (extraObjects.isEmpty()) {
            init = new ObjectsInitializer();
        } else {
            List<ObjectModel> models = new ArrayList<>(ObjectLoader.loadDefault());
            for (int id : extraObjects) {
                File ddf = new File(modelsDir, id + ".xml");
                try (InputStream in = new FileInputStream(ddf)) {
                    models.addAll(ObjectLoader.loadDdfFile(in, ddf.getPath()));
                }
            }
            init = new ObjectsInitializer(new StaticModel(models));
            // instance 0 now; new ones (Create) come from the same class's default constructor
            for (int id : extraObjects) init.setInstancesForObject(id, new SimpleInstanceEnabler(0));
        }
        if (bootstrapUrl != null) {
            // bootstrap account only; the bootstrap server creates the server account(s)
            init.setInstancesForObject(LwM2mId.SECURITY, Security.noSecBootstrap(bootstrapUrl));
            init.setClassForObject(LwM2mId.SERVER, Server.class);
        } else {
            init.setInstancesForObject(LwM2mId.SECURITY, Security.noSec(url, 123));
            init.setInstancesForObject(LwM2mId.SERVER, new Server(123, lifetime, EnumSet.of(BindingMode.U), false, BindingMode.U));
        }
        InteropDevice device = new InteropDevice("Eclipse Leshan", "leshan-client-cf 2.0.0-M15", "DMP-INTEROP-0001");
        init.setInstancesForObject(LwM2mId.DEVICE, device);

        CaliforniumClientEndpointsProvider.Builder ep = new CaliforniumClientEndpointsProvider.Builder();
        ep.setClientAddress(InetAddress.getByName(bind));

        LeshanClientBuilder builder = new LeshanClientBuilder(endpoint);
        builder.setObjects(init.createAll());
        builder.setEndpointsProviders(ep.build());
        LeshanClient client = builder.build();
        device.onReboot = () -> {
            client.stop(false); // no De-register: the device just went away and comes back
            client.start();
        };

        // Current Time (/3/0/13) changes every second: tell Leshan so Observe sends notifications.
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
        ticker.scheduleAtFixedRate(() -> device.fireResourceChange(13), 1, 1, TimeUnit.SECONDS);

        client.start();
        try {
            Thread.sleep(runSeconds * 1000);
        } finally {
            ticker.shutdownNow();
            client.destroy(true); // deregister, then stop
        }
        System.exit(0);
    }
}
