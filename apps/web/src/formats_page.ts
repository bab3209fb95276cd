console.log("formats_page");
