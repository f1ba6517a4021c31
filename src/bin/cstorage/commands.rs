//! The table of subcommands: names and aliases, argument counts, flags and help texts of
//! containers-storage 1.43 and of the commands 1.57 added, in the order 1.57's `--help` lists
//! them.

use crate::args::FlagSet;
use crate::invocation::{json_flag, Invocation};
use crate::{
    check, config, containers, copy, data, delete, diff, images, layers, metadata, misc, mount,
    names, oci, storage_layers, unsupported,
};

pub type Action = fn(&Invocation) -> i32;

pub struct Command {
    /// The first name is the one `--help` lists; the others are aliases.
    pub names: &'static [&'static str],
    pub options_help: &'static str,
    pub usage: &'static str,
    /// Where cstorage deliberately behaves differently from containers-storage 1.43 (printed
    /// with the command's help).
    pub note: &'static str,
    pub min_args: usize,
    /// `None` = no limit. Commands that came with containers-storage 1.43 have none where 1.43
    /// had 0 (it then ignored extra arguments); those that 1.57 added keep 1.57's limits, where
    /// `Some(0)` refuses any argument.
    pub max_args: Option<usize>,
    pub add_flags: fn(&mut FlagSet),
    pub action: Action,
}

impl Command {
    pub fn named(name: &str) -> Option<&'static Command> {
        COMMANDS.iter().find(|c| c.names.contains(&name))
    }
}

fn no_flags(_: &mut FlagSet) {}

fn id_map_flags(f: &mut FlagSet) {
    f.bool(&["-hostuidmap"], "Force host UID map");
    f.bool(&["-hostgidmap"], "Force host GID map");
    f.text(&["-uidmap"], "", "UID map");
    f.text(&["-gidmap"], "", "GID map");
    f.text(&["-subuidmap"], "", "subuid UID map for a user");
    f.text(&["-subgidmap"], "", "subgid GID map for a group");
}

fn layer_creation_flags(f: &mut FlagSet) {
    f.text(&["-label", "l"], "", "Mount Label");
    f.list(&["-name", "n"], &[], "Layer name");
    f.text(&["-id", "i"], "", "Layer ID");
    f.bool(&["-readonly", "r"], "Mark as read-only");
    json_flag(f);
    id_map_flags(f);
}

/// create-layer's flags less --name: a layer without a record has no names.
fn storage_layer_flags(f: &mut FlagSet) {
    f.text(&["-label", "l"], "", "Mount Label");
    f.text(&["-id", "i"], "", "Layer ID");
    f.bool(&["-readonly", "r"], "Mark as read-only");
    json_flag(f);
    id_map_flags(f);
}

fn write_file_flag(f: &mut FlagSet) {
    f.text(&["-file", "f"], "", "Write data to file");
}

fn read_file_flag(f: &mut FlagSet) {
    f.text(&["-file", "f"], "", "Read data from file");
}

const ONE_CONTAINER: &str = "[options [...]] containerNameOrID";
const CONTAINER_AND_KEY: &str = "[options [...]] containerNameOrID dataName";
const ONE_IMAGE: &str = "[options [...]] imageNameOrID";
const IMAGE_AND_KEY: &str = "[options [...]] imageNameOrID dataName";
const TWO_LAYERS: &str = "[options [...]] layerNameOrID [referenceLayerNameOrID]";
const NAMES_TARGET: &str = "[options [...]] imageOrContainerNameOrID";
const IMAGE_DIR_NOTE: &str = "The argument must name an image (ID, name or ID prefix) and the directory is the image ID's. \
    containers-storage 1.57 looks nothing up: it creates the directory under whatever was given, a name, a prefix, \
    an unknown ID or an empty string, and exits 0.";

pub static COMMANDS: &[Command] = &[
    Command {
        names: &["check"],
        options_help: "",
        usage: "Check storage consistency",
        note: "As 1.57: records, data items, every layer's regenerated diff against its digest, every layer mounted and, \
               without --quick, the mounted files against the diffs; --repair removes what is damaged as 1.57 does (containers \
               only with --force). With --json, each problem is its message (1.57 writes {} for each). \
               A record whose ID cannot be a file name is reported and never repaired (1.57 does not check IDs). \
               A container whose layer has no record is reported (1.57 does not check that); layers recorded by a process \
               that opened the store in the other transient mode are not reported as unaccounted (1.57 reports them, and its \
               gc removes them). The store is left mounted as it was \
               (1.57 then shuts the store down with force, unmounting every layer, those of running containers too).",
        min_args: 0,
        max_args: Some(0),
        add_flags: check::add_flags,
        action: check::check,
    },
    Command {
        names: &["config"],
        options_help: "[configurationFile]",
        usage: "Print storage library configuration as JSON",
        note: "A configuration file given is read instead of the default one (containers-storage 1.57 reads it over the \
               default one). Settings libcstorage does not read are left out, and PullOptions is null.",
        min_args: 0,
        max_args: Some(1),
        add_flags: no_flags,
        action: config::config,
    },
    Command {
        names: &["container"],
        options_help: "[options [...]] containerNameOrID [...]",
        usage: "Examine a container",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: containers::container,
    },
    Command {
        names: &["list-container-data", "listcontainerdata"],
        options_help: ONE_CONTAINER,
        usage: "List data items that are attached to an container",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: json_flag,
        action: data::list_container_data,
    },
    Command {
        names: &["get-container-data", "getcontainerdata"],
        options_help: CONTAINER_AND_KEY,
        usage: "Get data that is attached to an container",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: write_file_flag,
        action: data::get_container_data,
    },
    Command {
        names: &["get-container-data-size", "getcontainerdatasize"],
        options_help: CONTAINER_AND_KEY,
        usage: "Get size of data that is attached to an container",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: no_flags,
        action: data::get_container_data_size,
    },
    Command {
        names: &["get-container-data-digest", "getcontainerdatadigest"],
        options_help: CONTAINER_AND_KEY,
        usage: "Get digest of data that is attached to an container",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: no_flags,
        action: data::get_container_data_digest,
    },
    Command {
        names: &["set-container-data", "setcontainerdata"],
        options_help: CONTAINER_AND_KEY,
        usage: "Set data that is attached to an container",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: read_file_flag,
        action: data::set_container_data,
    },
    Command {
        names: &["get-container-dir", "getcontainerdir"],
        options_help: ONE_CONTAINER,
        usage: "Find the container's associated data directory",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: no_flags,
        action: containers::get_container_dir,
    },
    Command {
        names: &["get-container-run-dir", "getcontainerrundir"],
        options_help: ONE_CONTAINER,
        usage: "Find the container's associated runtime directory",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: no_flags,
        action: containers::get_container_run_dir,
    },
    Command {
        names: &["container-parent-owners"],
        options_help: "[options [...]] containerNameOrID [...]",
        usage: "Compute the set of unmapped parent UIDs and GIDs of the container",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: containers::container_parent_owners,
    },
    Command {
        names: &["containers"],
        options_help: "[options [...]]",
        usage: "List containers",
        note: "",
        min_args: 0,
        max_args: None,
        add_flags: json_flag,
        action: containers::containers,
    },
    Command {
        names: &["copy"],
        options_help: "[options [...]] [sourceLayerNameOrID:]/path [...] targetLayerNameOrID:/path",
        usage: "Copy files or directories into a layer, possibly from another layer",
        note: "containers-storage 1.43 crashes printing this help; cstorage prints it. A target path that goes \
               through a symbolic link inside the layer is refused (1.43 resolves it in a chroot of the layer). \
               A single file keeps its user.* and security.capability xattrs, as files inside a copied \
               directory do (1.43 drops them for a single file).",
        min_args: 2,
        max_args: None,
        add_flags: copy::add_flags,
        action: copy::copy,
    },
    Command {
        names: &["create-storage-layer"],
        options_help: "[options [...]] [parentLayerNameOrID]",
        usage: "Create a new layer only in the storage driver",
        note: "An ID the driver already has is refused (containers-storage 1.57's vfs driver accepts it and changes \
               nothing). The parent may be a layer's name or ID prefix, or a driver layer without a record.",
        min_args: 0,
        max_args: Some(1),
        add_flags: storage_layer_flags,
        action: storage_layers::create_storage_layer,
    },
    Command {
        names: &["create-layer", "createlayer"],
        options_help: "[options [...]] [parentLayerNameOrID]",
        usage: "Create a new layer",
        note: "IDs given with --id must be a single path component (containers-storage 1.43 accepts \"a/b\" and creates nested directories). \
               An ID of a layer of an additional image store is refused (1.43 accepts it, and its overlay driver then \
               empties that store's layer).",
        min_args: 0,
        max_args: Some(1),
        add_flags: layer_creation_flags,
        action: layers::create_layer,
    },
    Command {
        names: &["import-layer", "importlayer"],
        options_help: "[options [...]] [parentLayerNameOrID]",
        usage: "Import a new layer",
        note: "An ID of a layer of an additional image store is refused (containers-storage 1.43 accepts it, and its \
               overlay driver then empties that store's layer).",
        min_args: 0,
        max_args: Some(1),
        add_flags: |f| {
            layer_creation_flags(f);
            f.text(&["-file", "f"], "", "Read from file instead of stdin");
        },
        action: layers::import_layer,
    },
    Command {
        names: &["create-image", "createimage"],
        options_help: "[options [...]] topLayerNameOrID",
        usage: "Create a new image using layers",
        note: "An ID of an image of an additional image store is refused (containers-storage 1.43 accepts it and then \
               lists the ID twice).",
        min_args: 0,
        max_args: Some(1),
        add_flags: |f| {
            f.list(&["-name", "n"], &[], "Image name");
            f.text(&["-id", "i"], "", "Image ID");
            f.text(&["-digest", "d"], "", "Image Digest");
            f.text(&["-metadata", "m"], "", "Metadata");
            f.text(&["-metadata-file", "f"], "", "Metadata File");
            f.text(&["-created"], "", "Creation time (RFC 3339; default: now)");
            json_flag(f);
        },
        action: images::create_image,
    },
    Command {
        names: &["import-oci"],
        options_help: "[options [...]] layoutDir[:tag] [-n name]...",
        usage: "Import an image from an OCI image layout as skopeo copy oci: containers-storage: stores it",
        note: "Not in containers-storage. Names may also follow the layout (-n NAME, --name NAME, --name=NAME).",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.list(&["-name", "n"], &[], "Image name");
            f.text(&["-platform"], "", "Platform os/arch[/variant] to choose from an image index (default: this host's)");
            json_flag(f);
        },
        action: oci::import_oci,
    },
    Command {
        names: &["export-oci"],
        options_help: "[options [...]] imageNameOrID layoutDir[:tag]",
        usage: "Export an image to an OCI image layout that skopeo copy oci: reads",
        note: "Not in containers-storage.",
        min_args: 2,
        max_args: Some(2),
        add_flags: |f| {
            f.text(&["-compression"], "", "Layer compression: as-stored (default), none, gzip or zstd");
        },
        action: oci::export_oci,
    },
    Command {
        names: &["create-container", "createcontainer"],
        options_help: "[options [...]] parentImageNameOrID",
        usage: "Create a new container from an image",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: |f| {
            f.list(&["-name", "n"], &[], "Container name");
            f.text(&["-id", "i"], "", "Container ID");
            f.text(&["-metadata", "m"], "", "Metadata");
            f.text(&["-metadata-file", "f"], "", "Metadata File");
            json_flag(f);
            id_map_flags(f);
            f.bool(&["-volatile"], "Mark as volatile");
        },
        action: containers::create_container,
    },
    Command {
        names: &["dedup"],
        options_help: "",
        usage: "Dedup all images",
        note: "Not supported by cstorage yet: it exits 1.",
        min_args: 0,
        max_args: Some(0),
        add_flags: |f| {
            json_flag(f);
            f.text(&["-hash-method"], "crc", "Specify the hash function to use to detect identical files");
        },
        action: unsupported::dedup,
    },
    Command {
        names: &["delete"],
        options_help: "[LayerOrImageOrContainerNameOrID [...]]",
        usage: "Delete a layer or image or container, with no safety checks",
        note: "Results are reported in argument order (containers-storage 1.43 uses a random order).",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: delete::delete,
    },
    Command {
        names: &["delete-layer", "deletelayer"],
        options_help: "[LayerNameOrID [...]]",
        usage: "Delete a layer, with safety checks",
        note: "The safety checks apply to layers named by name too (containers-storage 1.43 skips them then, \
               and deletes layers that have children or belong to an image).",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: delete::delete_layer,
    },
    Command {
        names: &["delete-image", "deleteimage"],
        options_help: "[ImageNameOrID [...]]",
        usage: "Delete an image, with safety checks",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.bool(&["-test", "t"], "Only test removal");
            json_flag(f);
        },
        action: delete::delete_image,
    },
    Command {
        names: &["delete-container", "deletecontainer"],
        options_help: "[ContainerNameOrID [...]]",
        usage: "Delete a container, with safety checks",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: delete::delete_container,
    },
    Command {
        names: &["changes"],
        options_help: TWO_LAYERS,
        usage: "Compare two layers",
        note: "",
        min_args: 1,
        max_args: Some(2),
        add_flags: json_flag,
        action: diff::changes,
    },
    Command {
        names: &["diffsize", "diff-size"],
        options_help: TWO_LAYERS,
        usage: "Compare two layers",
        note: "",
        min_args: 1,
        max_args: Some(2),
        add_flags: no_flags,
        action: diff::diff_size,
    },
    Command {
        names: &["diff"],
        options_help: TWO_LAYERS,
        usage: "Compare two layers",
        note: "",
        min_args: 1,
        max_args: Some(2),
        add_flags: |f| {
            f.text(&["-file", "f"], "", "Write to file instead of stdout");
            f.bool(&["-uncompressed", "u"], "Use no compression");
            f.bool(&["-gzip", "c"], "Compress using gzip");
            f.bool(&["-bzip2", "-bz2", "b"], "Compress using bzip2 (not currently supported)");
            f.bool(&["-xz", "x"], "Compress using xz (not currently supported)");
        },
        action: diff::diff,
    },
    Command {
        names: &["applydiff", "apply-diff"],
        options_help: TWO_LAYERS,
        usage: "Apply a diff to a layer",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: |f| f.text(&["-file", "f"], "", "Read from file instead of stdin"),
        action: diff::apply_diff,
    },
    Command {
        names: &["applydiff-using-staging-dir"],
        options_help: "layerNameOrID directory",
        usage: "Apply a diff to a layer using a staging directory",
        note: "Not supported by cstorage: it exits 1.",
        min_args: 2,
        max_args: Some(2),
        add_flags: no_flags,
        action: unsupported::applydiff_using_staging_dir,
    },
    Command {
        names: &["exists"],
        options_help: "[LayerOrImageOrContainerNameOrID [...]]",
        usage: "Check if a layer or image or container exists",
        note: "Results are printed in argument order (containers-storage 1.43 uses a random order).",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.bool(&["-quiet", "q"], "Don't print names");
            f.bool(&["-layer", "l"], "Only succeed if the match is a layer");
            f.bool(&["-image", "i"], "Only succeed if the match is an image");
            f.bool(&["-container", "c"], "Only succeed if the match is a container");
            json_flag(f);
        },
        action: misc::exists,
    },
    Command {
        names: &["gc"],
        options_help: "",
        usage: "Perform garbage collection",
        note: "Container directories in the run root that no container owns are removed too (containers-storage 1.57 \
               leaves them). Directories that a file system is mounted in, and records kept by a process that opened the \
               store in the other transient mode, are left alone. The store is left mounted as it was (1.57 then shuts \
               the store down with force, unmounting every layer, those of running containers too).",
        min_args: 0,
        max_args: Some(0),
        add_flags: json_flag,
        action: misc::gc,
    },
    Command {
        names: &["image"],
        options_help: "[options [...]] imageNameOrID [...]",
        usage: "Examine an image",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: images::image,
    },
    Command {
        names: &["list-image-data", "listimagedata"],
        options_help: ONE_IMAGE,
        usage: "List data items that are attached to an image",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: json_flag,
        action: data::list_image_data,
    },
    Command {
        names: &["get-image-data", "getimagedata"],
        options_help: IMAGE_AND_KEY,
        usage: "Get data that is attached to an image",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: write_file_flag,
        action: data::get_image_data,
    },
    Command {
        names: &["get-image-data-size", "getimagedatasize"],
        options_help: IMAGE_AND_KEY,
        usage: "Get size of data that is attached to an image",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: no_flags,
        action: data::get_image_data_size,
    },
    Command {
        names: &["get-image-data-digest", "getimagedatadigest"],
        options_help: IMAGE_AND_KEY,
        usage: "Get digest of data that is attached to an image",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: no_flags,
        action: data::get_image_data_digest,
    },
    Command {
        names: &["set-image-data", "setimagedata"],
        options_help: IMAGE_AND_KEY,
        usage: "Set data that is attached to an image (with sometimes wrong digest)",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: read_file_flag,
        action: data::set_image_data,
    },
    Command {
        names: &["get-image-dir", "getimagedir"],
        options_help: ONE_IMAGE,
        usage: "Find the image's associated data directory",
        note: IMAGE_DIR_NOTE,
        min_args: 1,
        max_args: Some(1),
        add_flags: no_flags,
        action: images::get_image_dir,
    },
    Command {
        names: &["get-image-run-dir", "getimagerundir"],
        options_help: ONE_IMAGE,
        usage: "Find the image's associated runtime directory",
        note: IMAGE_DIR_NOTE,
        min_args: 1,
        max_args: Some(1),
        add_flags: no_flags,
        action: images::get_image_run_dir,
    },
    Command {
        names: &["images"],
        options_help: "[options [...]]",
        usage: "List images",
        note: "",
        min_args: 0,
        max_args: None,
        add_flags: |f| {
            json_flag(f);
            f.bool(&["-quiet", "q"], "Only print IDs");
        },
        action: images::images,
    },
    Command {
        names: &["images-by-digest"],
        options_help: "[options [...]] DIGEST",
        usage: "List images by digest",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: |f| {
            json_flag(f);
            f.bool(&["-quiet", "q"], "Only print IDs");
        },
        action: images::images_by_digest,
    },
    Command {
        names: &["layer"],
        options_help: "[options [...]] layerNameOrID [...]",
        usage: "Examine a layer",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: layers::layer,
    },
    Command {
        names: &["layer-parent-owners"],
        options_help: "[options [...]] layerNameOrID [...]",
        usage: "Compute the set of unmapped parent UIDs and GIDs of the layer",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: layers::layer_parent_owners,
    },
    Command {
        names: &["list-layer-data", "listlayerdata"],
        options_help: "[options [...]] layerNameOrID",
        usage: "List data items that are attached to a layer",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: json_flag,
        action: data::list_layer_data,
    },
    Command {
        names: &["get-layer-data", "getlayerdata"],
        options_help: "[options [...]] layerID dataName",
        usage: "Get data that is attached to a layer",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: write_file_flag,
        action: data::get_layer_data,
    },
    Command {
        names: &["set-layer-data", "setlayerdata"],
        options_help: "[options [...]] layerID dataName",
        usage: "Set data that is attached to a layer",
        note: "",
        min_args: 2,
        max_args: None,
        add_flags: read_file_flag,
        action: data::set_layer_data,
    },
    Command {
        names: &["layers"],
        options_help: "[options [...]]",
        usage: "List layers",
        note: "",
        min_args: 0,
        max_args: None,
        add_flags: |f| {
            f.bool(&["-tree", "t"], "Use a tree");
            f.bool(&["-quick", "q"], "Just the IDs");
            json_flag(f);
        },
        action: layers::layers,
    },
    Command {
        names: &["storage-layers"],
        options_help: "[options [...]]",
        usage: "List storage layers",
        note: "",
        min_args: 0,
        max_args: Some(0),
        add_flags: json_flag,
        action: storage_layers::storage_layers,
    },
    Command {
        names: &["metadata"],
        options_help: "[LayerOrImageOrContainerNameOrID [...]]",
        usage: "Retrieve layer, image, or container metadata",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.bool(&["-quiet", "q"], "Omit names and IDs");
            json_flag(f);
        },
        action: metadata::metadata,
    },
    Command {
        names: &["set-metadata", "setmetadata"],
        options_help: "[options [...]] layerOrImageOrContainerNameOrID",
        usage: "Set layer, image, or container metadata",
        note: "",
        min_args: 1,
        max_args: Some(1),
        add_flags: |f| {
            f.text(&["-metadata", "m"], "", "Metadata");
            f.text(&["-metadata-file", "f"], "", "Metadata File");
        },
        action: metadata::set_metadata,
    },
    Command {
        names: &["mount"],
        options_help: "[options [...]] LayerOrContainerNameOrID",
        usage: "Mount a layer or container",
        note: "Layers can be named by name (containers-storage 1.43 then fails with \"stat <dir>/<name>: no such file\"); \
               --opt options (comma-separated) are passed to the driver (1.43 ignores them).",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.text(&["-opt", "o"], "", "Mount Options");
            f.text(&["-label", "l"], "", "Mount Label");
            f.bool(&["-read-only", "-ro", "r"], "Mount image readonly");
            json_flag(f);
        },
        action: mount::mount,
    },
    Command {
        names: &["unmount", "umount"],
        options_help: "LayerOrContainerNameOrID",
        usage: "Unmount an image, layer or container",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            json_flag(f);
            f.bool(&["-force", "f"], "Force the umount");
        },
        action: mount::unmount,
    },
    Command {
        names: &["mounted"],
        options_help: "LayerOrContainerNameOrID",
        usage: "Check if a file system is mounted",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: mount::mounted,
    },
    Command {
        names: &["get-names", "getnames"],
        options_help: NAMES_TARGET,
        usage: "Get layer, image, or container name or names",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: json_flag,
        action: names::get_names,
    },
    Command {
        names: &["add-names", "addnames"],
        options_help: NAMES_TARGET,
        usage: "Add layer, image, or container name or names",
        note: "Images of additional image stores are read-only: their names cannot be changed (containers-storage 1.43 \
               copies the image into this store, without its first new name and without its data).",
        min_args: 1,
        max_args: None,
        add_flags: names::add_flags,
        action: names::add_names,
    },
    Command {
        names: &["remove-names", "removenames"],
        options_help: NAMES_TARGET,
        usage: "Remove layer, image, or container name or names",
        note: "",
        min_args: 1,
        max_args: None,
        add_flags: |f| {
            f.list(&["-name", "n"], &[], "Name to remove");
            json_flag(f);
        },
        action: names::remove_names,
    },
    Command {
        names: &["set-names", "setnames"],
        options_help: NAMES_TARGET,
        usage: "Set layer, image, or container name or names",
        note: "Images of additional image stores are read-only: their names cannot be changed (containers-storage 1.43 \
               copies the image into this store, without its first new name and without its data).",
        min_args: 1,
        max_args: None,
        add_flags: names::add_flags,
        action: names::set_names,
    },
    Command {
        names: &["shutdown"],
        options_help: "",
        usage: "Shut down layer storage",
        note: "With --force, mounted layers are unmounted and the command returns \
               (containers-storage 1.43 unmounts them and then never exits).",
        min_args: 0,
        max_args: None,
        add_flags: |f| {
            json_flag(f);
            f.bool(&["-force", "f"], "Unmount mounted layers first");
        },
        action: misc::shutdown,
    },
    Command {
        names: &["status"],
        options_help: "",
        usage: "Check on graph driver status",
        note: "",
        min_args: 0,
        max_args: None,
        add_flags: json_flag,
        action: misc::status,
    },
    Command {
        names: &["unshare"],
        options_help: "[command [...]]",
        usage: "Run a command in a user namespace",
        note: "Not supported by cstorage: it exits 1 without running the command.",
        min_args: 0,
        max_args: None,
        add_flags: no_flags,
        action: unsupported::unshare,
    },
    Command {
        names: &["version"],
        options_help: "",
        usage: "Return containers-storage version information",
        note: "Reports libcstorage's version and the c/storage version it is compatible with \
               (containers-storage 1.43 prints nothing).",
        min_args: 0,
        max_args: None,
        add_flags: json_flag,
        action: misc::version,
    },
    Command {
        names: &["wipe"],
        options_help: "",
        usage: "Wipe all layers, images, and containers",
        note: "",
        min_args: 0,
        max_args: None,
        add_flags: json_flag,
        action: delete::wipe,
    },
];
