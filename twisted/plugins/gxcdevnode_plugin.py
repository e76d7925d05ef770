"""twistd plugin: ``twistd -n gxcdevnode`` runs the GXC devnet node simulator."""
from twisted.application.service import ServiceMaker

gxcdevnode = ServiceMaker("gxcdevnode", "gxcpoold.devnet.tap",
                          "GXC devnet node simulator", "gxcdevnode")
