// Renews the session without a click; the form works by hand when scripts are off.
document.getElementById("resume").submit();
