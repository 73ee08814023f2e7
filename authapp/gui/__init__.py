"""The AirAuth desktop GUI (PyQt5 + pyqtgraph), launched with ``authapp gui``.

It is a front end over the same pieces as the CLI: frames from ``capture.sources`` (a live
Leap Motion or replayed recordings), gestures cut by ``capture.segmentation`` and every
decision from ``authapp.services.AuthService``. Device and service work runs off the GUI
thread; every error reaches the window as a message.
"""
